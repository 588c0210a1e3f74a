#include "bench/prompt_synthesizer.h"

namespace pdserve::bench {

PromptSynthesizer::PromptSynthesizer(const tokenizer::Tokenizer& tokenizer, uint64_t seed)
    : tokenizer_(tokenizer), rng_(seed) {
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id)
    if (!tokenizer.is_special(id) && tokenizer.id_to_token(id)) ordinary_ids_.push_back(id);
}

int32_t PromptSynthesizer::random_id() {
  std::uniform_int_distribution<size_t> pick(0, ordinary_ids_.size() - 1);
  return ordinary_ids_[pick(rng_)];
}

Result<SyntheticPrompt> PromptSynthesizer::make(int len) {
  if (len < 1)
    return invalid_argument("a prompt needs at least 1 token, got " + std::to_string(len));
  if (ordinary_ids_.empty()) return invalid_argument("the tokenizer has no ordinary token");
  tokenizer::EncodeOptions plain;
  plain.add_special_tokens = false;
  plain.split_special_tokens = true;
  const size_t want = static_cast<size_t>(len);
  constexpr int kRestarts = 50, kRounds = 16;
  for (int restart = 0; restart < kRestarts; ++restart) {
    std::vector<int32_t> ids(want);
    for (int32_t& id : ids) id = random_id();
    // decode -> encode may merge or split tokens at their seams; cut or pad
    // and go round again until the text is a fixed point of exactly `len`.
    for (int round = 0; round < kRounds; ++round) {
      auto text = tokenizer_.decode(ids);
      if (!text.ok()) break;
      auto again = tokenizer_.encode(*text, plain);
      if (!again.ok()) break;
      if (again->size() == want) return SyntheticPrompt{std::move(*again), std::move(*text)};
      ids = std::move(*again);
      if (ids.size() > want) {
        ids.resize(want);
      } else {
        while (ids.size() < want) ids.push_back(random_id());
      }
    }
  }
  return internal_error("found no text of exactly " + std::to_string(len) +
                        " tokens under this tokenizer");
}

}  // namespace pdserve::bench
