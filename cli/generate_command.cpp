#include "cli/generate_command.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/engine_flags.h"
#include "cli/runner_flags.h"
#include "cli/sampling_flags.h"
#include "cli/speculative_flags.h"
#include "engine/engine.h"
#include "tokenizer/chat_template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::cli {
namespace {

struct GenerateFlags {
  RunnerFlags runner;
  EngineFlags engine;
  SpeculativeFlags speculative;
  SamplingFlags sampling;
  std::vector<int> prompt_ids;
  std::string prompt;  // text, tokenized with the model's tokenizer
  std::string chat;    // a user message, through the model's chat template
  std::string system;  // with --chat: a system message first
};

// The prompt's token ids from --prompt-ids, --prompt or --chat (exactly one).
Result<std::vector<int32_t>> prompt_tokens(const GenerateFlags& f,
                                           const tokenizer::Tokenizer* tok) {
  const int given = !f.prompt_ids.empty() + !f.prompt.empty() + !f.chat.empty();
  if (given == 0)
    return invalid_argument("give a prompt: --prompt TEXT, --chat MESSAGE or --prompt-ids 1,2,3");
  if (given > 1) return invalid_argument("give one of --prompt, --chat and --prompt-ids");
  if (!f.prompt_ids.empty()) return std::vector<int32_t>(f.prompt_ids.begin(), f.prompt_ids.end());
  if (!f.prompt.empty()) return tok->encode(f.prompt);
  PD_ASSIGN_OR_RETURN(chat_template::ChatTemplateConfig cfg,
                      chat_template::load_chat_template_config(f.runner.model_dir));
  if (cfg.chat_template.empty()) return invalid_argument("--chat: the model has no chat template");
  PD_ASSIGN_OR_RETURN(chat_template::ChatTemplate tmpl,
                      chat_template::ChatTemplate::compile(cfg.chat_template));
  // Content shaped as the router shapes it for the template's content format.
  auto content = [&tmpl](const std::string& text) {
    if (tmpl.content_format() == chat_template::ContentFormat::kString) return nlohmann::json(text);
    return nlohmann::json::array({{{"type", "text"}, {"text", text}}});
  };
  nlohmann::json messages = nlohmann::json::array();
  if (!f.system.empty()) messages.push_back({{"role", "system"}, {"content", content(f.system)}});
  messages.push_back({{"role", "user"}, {"content", content(f.chat)}});
  // Every special token of the tokenizer, as apply_chat_template gives them.
  nlohmann::json context = nlohmann::json::parse(cfg.special_tokens_json);
  context["messages"] = messages;
  context["add_generation_prompt"] = true;
  PD_ASSIGN_OR_RETURN(std::string text, tmpl.render(context.dump()));
  tokenizer::EncodeOptions enc;
  enc.add_special_tokens = false;  // the template wrote them
  return tok->encode(text, enc);
}

int run(const GenerateFlags& f) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "pdserve generate: %s\n", s.message().c_str());
    return 1;
  };
  auto params = sampling_params(f.sampling);
  if (!params.ok()) return fail(params.status());
  std::unique_ptr<tokenizer::Tokenizer> tok;
  if (f.prompt_ids.empty()) {
    auto t = tokenizer::Tokenizer::from_file(f.runner.model_dir + "/tokenizer.json");
    if (!t.ok()) return fail(t.status());
    tok = std::move(t).value();
  }
  auto ids = prompt_tokens(f, tok.get());
  if (!ids.ok()) return fail(ids.status());
  auto config = engine_config(f.engine);
  if (!config.ok()) return fail(config.status());
  auto runner = load_runner(f.runner, config->scheduler.max_num_seqs);
  if (!runner.ok()) return fail(runner.status());
  auto spec_runner = speculative_runner(f.speculative, f.runner, runner->get(), &*config);
  if (!spec_runner.ok()) return fail(spec_runner.status());
  runner::ModelRunner* engine_runner = runner->get();
  if (*spec_runner) engine_runner = spec_runner->get();
  auto eng = engine::Engine::create(*config, engine_runner);
  if (!eng.ok()) return fail(eng.status());
  engine::RequestSpec spec;
  spec.request_id = 1;
  spec.prompt_ids = std::move(ids).value();
  spec.sampling = *params;
  const auto start = std::chrono::steady_clock::now();
  auto results = (*eng)->generate({spec});
  if (!results.ok()) return fail(results.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const engine::GenerateResult& g = (*results)[0];
  if (tok) {  // a text prompt: the text of the continuation
    auto text = tok->decode(g.token_ids, /*skip_special_tokens=*/true);
    if (!text.ok()) return fail(text.status());
    std::cout << *text << "\n";
  } else {
    for (size_t i = 0; i < g.token_ids.size(); ++i) std::cout << (i ? " " : "") << g.token_ids[i];
    std::cout << "\n";
  }
  if (params->num_logprobs >= 0) {
    for (size_t i = 0; i < g.token_ids.size(); ++i)
      std::cout << g.token_ids[i] << "\t" << g.logprobs[i] << "\n";
  }
  std::fprintf(stderr,
               "prompt tokens: %zu, generated tokens: %zu (finish: %s), %.2f s, %.1f tokens/s\n",
               spec.prompt_ids.size(), g.token_ids.size(),
               std::string(scheduler::finish_reason_name(g.finish_reason)).c_str(), seconds,
               g.token_ids.size() / std::max(seconds, 1e-9));
  if (*spec_runner) {
    std::fprintf(stderr, "%s\n", spec_decode_summary((*eng)->stats().spec_decode).c_str());
  }
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto flags = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "generate a continuation offline");
  add_runner_flags(*cmd, flags->runner);
  add_engine_flags(*cmd, flags->engine);
  add_speculative_flags(*cmd, flags->speculative);
  add_sampling_flags(*cmd, flags->sampling);
  cmd->add_option("--prompt-ids", flags->prompt_ids, "prompt as token ids (the output is ids too)")
      ->delimiter(',');
  cmd->add_option("--prompt", flags->prompt, "prompt text");
  cmd->add_option("--chat", flags->chat, "a user message, rendered with the model's chat template");
  cmd->add_option("--system", flags->system, "with --chat: a system message")->needs("--chat");
  cmd->final_callback([flags] {
    int rc = run(*flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace pdserve::cli
