#include "tokenizer/chat_template/lexer.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "tokenizer/chat_template/python_format.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

int count_newlines(std::string_view s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) {
    // Newlines normalized to \n; one trailing newline dropped (keep_trailing_newline=False).
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_.push_back('\n');
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_.push_back(source[i]);
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      size_t tag = find_tag(pos_);
      if (tag == std::string::npos) {
        emit_text(src_.substr(pos_));
        pos_ = src_.size();
        break;
      }
      char kind = src_[tag + 1];
      char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+')
                      ? src_[tag + 2]
                      : '\0';
      std::string text = src_.substr(pos_, tag - pos_);
      int text_lines = count_newlines(text);
      if (sign == '-') {
        while (!text.empty() && is_py_space(text.back())) text.pop_back();
      } else if (sign != '+' && kind != '{') {
        size_t nl = text.rfind('\n');
        size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting_) && l_pos < text.size() &&
            std::all_of(text.begin() + l_pos, text.end(), [](char c) { return is_py_space(c); })) {
          text.resize(l_pos);
        }
      }
      emit_text(std::move(text));
      line_ += text_lines;
      pos_ = tag + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        lex_comment(tag);
      } else if (kind == '%' && try_raw()) {
        // handled
      } else {
        lex_tag(kind == '%');
      }
    }
    tokens_.push_back(Token{TokenType::kEnd, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return std::string::npos;
  }

  void emit_text(std::string text) {
    if (text.empty()) return;
    tokens_.push_back(Token{TokenType::kText, std::move(text), line_});
  }

  // After an end marker: "-" strips all following whitespace, "+" keeps it,
  // plain removes one newline (trim_blocks; not for }}).
  void after_end(char sign, bool trim) {
    size_t start = pos_;
    if (sign == '-') {
      while (pos_ < src_.size() && is_py_space(src_[pos_])) ++pos_;
    } else if (sign != '+' && trim && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
    line_ += count_newlines(std::string_view(src_).substr(start, pos_ - start));
    line_starting_ = pos_ > start && src_[pos_ - 1] == '\n';
  }

  void lex_comment(size_t tag) {
    size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail_at(line_, "unterminated comment");
    char sign = end > tag + 2 && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    line_ += count_newlines(std::string_view(src_).substr(pos_, end - pos_));
    pos_ = end + 2;
    after_end(sign, true);
  }

  // {% raw %}...{% endraw %}: the body is text, taken verbatim.
  bool try_raw() {
    size_t p = pos_;
    while (p < src_.size() && is_py_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) {
      return false;
    }
    p += 3;
    while (p < src_.size() && is_py_space(src_[p])) ++p;
    char sign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    if (src_.compare(p, 2, "%}") != 0) fail_at(line_, "expected '%}' after 'raw'");
    pos_ = p + 2;
    after_end(sign, true);
    size_t search = pos_;
    while (true) {
      size_t open = src_.find("{%", search);
      if (open == std::string::npos) fail_at(line_, "missing endraw for 'raw'");
      size_t q = open + 2;
      char open_sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) open_sign = src_[q++];
      while (q < src_.size() && is_py_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) {
        search = open + 2;
        continue;
      }
      q += 6;
      while (q < src_.size() && is_py_space(src_[q])) ++q;
      char end_sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) end_sign = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) {
        search = open + 2;
        continue;
      }
      std::string body = src_.substr(pos_, open - pos_);
      int body_lines = count_newlines(body);
      if (open_sign == '-') {
        while (!body.empty() && is_py_space(body.back())) body.pop_back();
      }
      emit_text(std::move(body));
      line_ += body_lines;
      pos_ = q + 2;
      after_end(end_sign, true);
      return true;
    }
  }

  void lex_tag(bool block) {
    tokens_.push_back(Token{block ? TokenType::kBlockBegin : TokenType::kVarBegin, "", line_});
    std::vector<char> balance;
    while (true) {
      while (pos_ < src_.size() && is_py_space(src_[pos_])) {
        if (src_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= src_.size()) {
        fail_at(line_, block ? "unexpected end of template, expected '%}'"
                             : "unexpected end of template, expected '}}'");
      }
      if (balance.empty() && end_tag(block)) return;
      char c = src_[pos_];
      if (c == '\'' || c == '"') {
        lex_string(c);
      } else if (is_digit(c)) {
        lex_number();
      } else if (is_name_start(c)) {
        size_t start = pos_;
        while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
        tokens_.push_back(Token{TokenType::kName, src_.substr(start, pos_ - start), line_});
      } else {
        lex_operator(&balance);
      }
    }
  }

  bool end_tag(bool block) {
    std::string_view rest = std::string_view(src_).substr(pos_);
    const char* close = block ? "%}" : "}}";
    char sign = 0;
    if (rest.size() >= 3 && (rest[0] == '-' || (block && rest[0] == '+')) &&
        rest.substr(1, 2) == close) {
      sign = rest[0];
      pos_ += 3;
    } else if (rest.substr(0, 2) == close) {
      pos_ += 2;
    } else {
      return false;
    }
    tokens_.push_back(Token{block ? TokenType::kBlockEnd : TokenType::kVarEnd, "", line_});
    after_end(sign, block);
    return true;
  }

  void lex_string(char quote) {
    int start_line = line_;
    ++pos_;
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) fail_at(start_line, "unterminated string literal");
      char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c == '\n') ++line_;
      if (c != '\\') {
        value.push_back(c);
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= src_.size()) fail_at(start_line, "unterminated string literal");
      char e = src_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case 'n': value.push_back('\n'); break;
        case 't': value.push_back('\t'); break;
        case 'r': value.push_back('\r'); break;
        case '\\': value.push_back('\\'); break;
        case '\'': value.push_back('\''); break;
        case '"': value.push_back('"'); break;
        case 'a': value.push_back('\a'); break;
        case 'b': value.push_back('\b'); break;
        case 'f': value.push_back('\f'); break;
        case 'v': value.push_back('\v'); break;
        case '\n': ++line_; break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            int h = pos_ + k < src_.size() ? hex_value(src_[pos_ + k]) : -1;
            if (h < 0)
              fail_at(line_, "invalid \\" + std::string(1, e) + " escape in string literal");
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            fail_at(line_, "invalid code point escape in string literal");
          }
          pos_ += n;
          append_utf8(&value, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7';
                 ++k) {
              cp = cp * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
            }
            append_utf8(&value, cp);
          } else {
            value.push_back('\\');
            value.push_back(e);
            if (e == '\n') ++line_;
          }
      }
    }
    tokens_.push_back(Token{TokenType::kString, std::move(value), start_line});
  }

  void lex_number() {
    size_t start = pos_;
    auto digits = [&] {
      while (pos_ < src_.size() && (is_digit(src_[pos_]) || src_[pos_] == '_')) ++pos_;
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
      is_float = true;
      ++pos_;
      digits();
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && is_digit(src_[p])) {
        is_float = true;
        pos_ = p;
        digits();
      }
    }
    std::string text;
    for (size_t i = start; i < pos_; ++i) {
      if (src_[i] != '_') text.push_back(src_[i]);
    }
    Token t{is_float ? TokenType::kFloat : TokenType::kInt, text, line_};
    const char* b = text.data();
    const char* e = text.data() + text.size();
    if (is_float) {
      auto r = std::from_chars(b, e, t.float_value);
      if (r.ec != std::errc()) fail_at(line_, "invalid number literal '" + text + "'");
    } else {
      auto r = std::from_chars(b, e, t.int_value);
      if (r.ec != std::errc()) fail_at(line_, "integer literal '" + text + "' is too large");
    }
    tokens_.push_back(std::move(t));
  }

  void lex_operator(std::vector<char>* balance) {
    static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*",
                                 "/",  "%",  "~",  "<",  ">",  "=",  "(", ")", "[",
                                 "]",  "{",  "}",  ",",  ".",  ":",  "|"};
    for (const char* op : kOps) {
      size_t n = std::strlen(op);
      if (src_.compare(pos_, n, op) != 0) continue;
      char c = op[0];
      if (n == 1 && (c == '(' || c == '[' || c == '{')) {
        balance->push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
      } else if (n == 1 && (c == ')' || c == ']' || c == '}')) {
        if (balance->empty() || balance->back() != c) {
          fail_at(line_, std::string("unexpected '") + c + "'");
        }
        balance->pop_back();
      }
      tokens_.push_back(Token{TokenType::kOperator, op, line_});
      pos_ += n;
      return;
    }
    fail_at(line_, std::string("unexpected character '") + src_[pos_] + "'");
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  return Lexer(source).run();
}

}  // namespace pdserve::chat_template
