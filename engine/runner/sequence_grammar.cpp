#include "engine/runner/sequence_grammar.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>

#include "common/base/logging.h"

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

void SequenceGrammar::fill(size_t i) {
  if (rows_.size() <= i) rows_.resize(i + 1);
  structured::TokenBitmask& allowed = rows_[i];
  matcher_.fill_next_token_mask(&allowed);
  if (allowed.count() == 0)
    for (int32_t id : compiled_->vocabulary().stop_token_ids()) allowed.set(id);
}

Status SequenceGrammar::prepare(std::span<const int32_t> drafts) {
  const int32_t start = matcher_.num_accepted_tokens();
  num_rows_ = 0;
  for (size_t i = 0; i <= drafts.size(); ++i) {
    fill(i);
    ++num_rows_;
    if (i == drafts.size() || !rows_[i].test(drafts[i])) break;
    // Past the end only stop tokens follow (as accept() takes them), and
    // the matcher takes none: the next row is the stop tokens again.
    if (matcher_.is_terminated()) continue;
    if (!matcher_.accept_token(drafts[i]).ok()) break;
  }
  return matcher_.rollback(matcher_.num_accepted_tokens() - start);
}

void SequenceGrammar::apply(std::span<float> rows, size_t vocab) const {
  PD_CHECK(rows.size() >= num_rows_ * vocab) << "structured output: fewer logits rows than masks";
  const int32_t num_tokens = compiled_->vocabulary().size();
  const auto n = static_cast<int32_t>(vocab);
  for (size_t i = 0; i < num_rows_; ++i) {
    float* row = rows.data() + i * vocab;
    for (int32_t id = 0; id < n; ++id)
      if (id >= num_tokens || !rows_[i].test(id)) row[id] = kNegInf;
  }
}

void SequenceGrammar::write_bits(std::span<uint32_t> words) const {
  PD_CHECK(num_rows_ > 0) << "structured output: no mask prepared";
  // 64-bit words, token t at bit t % 64 of word t / 64: on a little-endian
  // host the same bytes as 32-bit words with t at bit t % 32 of word t / 32.
  static_assert(std::endian::native == std::endian::little);
  const std::vector<uint64_t>& allowed = rows_[0].words();
  const size_t n = std::min(words.size_bytes(), allowed.size() * sizeof(uint64_t));
  std::memcpy(words.data(), allowed.data(), n);
  std::memset(reinterpret_cast<char*>(words.data()) + n, 0, words.size_bytes() - n);
}

Status SequenceGrammar::accept(int32_t token_id) {
  if (matcher_.is_terminated() && compiled_->vocabulary().is_stop(token_id)) return ok_status();
  Status s = matcher_.accept_token(token_id);
  if (s.ok()) return s;
  return invalid_argument("structured output: token " + std::to_string(token_id) +
                          " does not follow the constraint: " + s.message());
}

}  // namespace pdserve::runner
