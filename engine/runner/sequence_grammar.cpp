#include "engine/runner/sequence_grammar.h"

#include <limits>
#include <string>

namespace pdserve::runner {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace

SequenceGrammar::SequenceGrammar(std::shared_ptr<const structured::CompiledGrammar> compiled)
    : matcher_(compiled), compiled_(std::move(compiled)) {}

Result<std::unique_ptr<SequenceGrammar>> SequenceGrammar::create(
    structured::GrammarCompiler& compiler, const protocol::OutputConstraint& constraint,
    std::span<const int32_t> output_ids) {
  Result<std::shared_ptr<const structured::CompiledGrammar>> compiled =
      compiler.compile(constraint);
  if (!compiled.ok()) return invalid_argument(compiled.status().message());
  std::unique_ptr<SequenceGrammar> g(new SequenceGrammar(std::move(compiled).value()));
  for (int32_t t : output_ids) PD_RETURN_IF_ERROR(g->accept(t));
  return g;
}

void SequenceGrammar::fill_allowed() {
  matcher_.fill_next_token_mask(&allowed_);
  if (allowed_.count() == 0)
    for (int32_t id : compiled_->vocabulary().stop_token_ids()) allowed_.set(id);
}

void SequenceGrammar::mask(std::span<float> logits) {
  fill_allowed();
  const int32_t vocab = compiled_->vocabulary().size();
  const auto n = static_cast<int32_t>(logits.size());
  for (int32_t id = 0; id < n; ++id)
    if (id >= vocab || !allowed_.test(id)) logits[static_cast<size_t>(id)] = kNegInf;
}

void SequenceGrammar::mask_bits(std::span<uint32_t> words) {
  fill_allowed();
  const std::vector<uint64_t>& allowed = allowed_.words();  // token i: bit i % 64 of word i / 64
  for (size_t i = 0; i < words.size(); ++i) {
    const size_t w = i / 2;
    words[i] &= w < allowed.size() ? static_cast<uint32_t>(allowed[w] >> (32 * (i % 2))) : 0u;
  }
}

Status SequenceGrammar::mask_drafts(std::span<float> rows, size_t vocab,
                                    std::span<const int32_t> drafts) {
  const int32_t start = matcher_.num_accepted_tokens();
  for (size_t i = 0; i <= drafts.size(); ++i) {
    mask(rows.subspan(i * vocab, vocab));
    if (i == drafts.size() || matcher_.is_terminated() || !allowed_.test(drafts[i])) break;
    if (!matcher_.accept_token(drafts[i]).ok()) break;
  }
  return matcher_.rollback(matcher_.num_accepted_tokens() - start);
}

Status SequenceGrammar::accept(int32_t token_id) {
  if (matcher_.is_terminated() && compiled_->vocabulary().is_stop(token_id)) return ok_status();
  Status s = matcher_.accept_token(token_id);
  if (s.ok()) return s;
  return invalid_argument("structured output: token " + std::to_string(token_id) +
                          " does not follow the constraint: " + s.message());
}

}  // namespace pdserve::runner
