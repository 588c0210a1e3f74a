// ChatTemplate::content_format(): "openai" for templates that loop over a
// message's content (or index it), as vLLM's auto detection finds them;
// "string" for every template that uses content as text.
#include <gtest/gtest.h>

#include "tokenizer/chat_template/chat_template.h"

namespace pdserve::chat_template {
namespace {

ContentFormat format_of(const char* source) {
  auto t = ChatTemplate::compile(source);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? t->content_format() : ContentFormat::kString;
}

TEST(ContentFormatTest, LoopsOverAMessagesContentAreOpenAi) {
  for (const char* source : {
           // Llama 4 / Qwen2-VL style.
           "{% for message in messages %}{% for part in message['content'] %}"
           "{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endfor %}",
           "{% for m in messages %}{% for p in m.content %}{{ p.text }}{% endfor %}{% endfor %}",
           // Through an alias of messages, a slice, a filter.
           "{% set loop_messages = messages[1:] %}{% for message in loop_messages %}"
           "{% for block in message['content'] %}{{ block.text }}{% endfor %}{% endfor %}",
           "{% for message in messages | selectattr('role', 'ne', 'system') %}"
           "{% for p in message.content | list %}{{ p.text }}{% endfor %}{% endfor %}",
           "{% for message in messages %}{% for p in message.content[1:] %}{% endfor %}{% endfor "
           "%}",
           // A loop with a filter clause, inside a macro.
           "{% macro r(message) %}{% for p in message.content if p.type == 'text' %}{{ p.text }}"
           "{% endfor %}{% endmacro %}{% for message in messages %}{{ r(message) }}{% endfor %}",
           // Beyond vLLM: a loop over a name set from the content, and content indexed.
           "{% for message in messages %}{% set parts = message['content'] %}"
           "{% for p in parts %}{{ p.text }}{% endfor %}{% endfor %}",
           "{% for message in messages %}{{ message.content[0].text }}{% endfor %}",
           "{{ messages[0]['content'][0]['text'] }}",
       }) {
    EXPECT_EQ(format_of(source), ContentFormat::kOpenAi) << source;
  }
}

TEST(ContentFormatTest, ContentUsedAsTextIsString) {
  for (const char* source : {
           "{% for message in messages %}{{ message['content'] | trim }}{% endfor %}",
           "{% for message in messages %}{{ '<|' + message.role + '|>' + message.content }}"
           "{% endfor %}",
           // String methods and slices of the content, a loop over its lines.
           "{% for message in messages %}{{ message.content.split('</think>')[-1] }}"
           "{{ message.content[:5] }}{% endfor %}",
           "{% for message in messages %}{% for line in message.content.split('\\n') %}"
           "{{ line }}{% endfor %}{% endfor %}",
           "{% for message in messages %}{% set content = message.content %}"
           "{{ content.split('x')[0] }}{% endfor %}",
           // Loops over other parts of a message, or over something not a message.
           "{% for message in messages %}{% for call in message.tool_calls %}"
           "{{ call.function.name }}{% endfor %}{% endfor %}",
           "{% for doc in documents %}{% for p in doc['content'] %}{{ p }}{% endfor %}{% endfor %}",
           "{% for message in tools %}{% for p in message.content %}{{ p }}{% endfor %}{% endfor "
           "%}",
           "{% if messages[0]['content'] is string %}{{ messages[0]['content'] }}{% endif %}",
           "plain text",
       }) {
    EXPECT_EQ(format_of(source), ContentFormat::kString) << source;
  }
}

}  // namespace
}  // namespace pdserve::chat_template
