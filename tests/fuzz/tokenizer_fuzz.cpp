// libFuzzer target for the tokenizer. Input: a tokenizer.json, a 0 byte, then
// text. Loading any bytes must never crash (a bad file is a Status); when the
// file loads, the text is encoded, decoded and streamed with it. The text is
// also run through fixed real tokenizers (the demo model's and the llama2 and
// qwen2 fixtures), with invariants that trap when broken:
//   - encode fails only for invalid UTF-8 (kInvalidArgument), and its ids
//     decode; a fuzzed file may also fail valid text as Hugging Face does
//     (kFailedPrecondition: unk_token missing from the vocabulary) or hit the
//     regex match limit (kResourceExhausted);
//   - byte-level without a normalizer round-trips exactly (demo tokenizer);
//   - the concatenated IncrementalDecoder pieces equal decode(ids), each valid UTF-8;
//   - arbitrary ids (from the text's bytes) decode or fail with kOutOfRange.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {
namespace {

std::vector<std::unique_ptr<Tokenizer>>& fixed_tokenizers() {
  static auto* list = [] {
    auto* v = new std::vector<std::unique_ptr<Tokenizer>>();
    const std::string root = PDSERVE_SOURCE_DIR;
    for (const char* rel :
         {"/models/pdserve-demo/tokenizer.json", "/tests/fixtures/tokenizers/llama2/tokenizer.json",
          "/tests/fixtures/tokenizers/qwen2/tokenizer.json"}) {
      auto t = Tokenizer::from_file(root + rel);
      if (t.ok()) v->push_back(std::move(t).value());
    }
    return v;
  }();
  return *list;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void stream_equals_decode(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip) {
  auto want = t.decode(ids, skip);
  check(want.ok());
  IncrementalDecoder stream(t, skip);
  std::string all;
  for (int32_t id : ids) {
    auto piece = stream.push(id);
    check(piece.ok() && is_valid_utf8(*piece));
    all += *piece;
  }
  const std::string rest = stream.flush();
  check(is_valid_utf8(rest));
  all += rest;
  check(all == *want);
}

// Whether a failed encode of `text` is one the invariants allow.
bool allowed_encode_failure(const Status& s, bool valid, bool fixed) {
  if (!valid) return s.code() == StatusCode::kInvalidArgument;
  return !fixed && !s.message().empty() &&
         (s.code() == StatusCode::kFailedPrecondition ||
          s.code() == StatusCode::kResourceExhausted);
}

void exercise(const Tokenizer& t, std::string_view text, bool fixed, bool round_trip) {
  const bool valid = is_valid_utf8(text);
  for (bool split : {false, true}) {
    auto ids = t.encode(text, {.add_special_tokens = true, .split_special_tokens = split});
    if (!ids.ok()) {
      check(allowed_encode_failure(ids.status(), valid, fixed));
      continue;
    }
    check(valid);
    auto back = t.decode(*ids);
    check(back.ok() && is_valid_utf8(*back));
    if (round_trip && split) check(*back == text);
    stream_equals_decode(t, *ids, false);
    stream_equals_decode(t, *ids, true);
  }
  // Arbitrary ids from the bytes: in range or not.
  std::vector<int32_t> ids;
  for (size_t i = 0; i + 2 <= text.size() && ids.size() < 64; i += 2) {
    const int v =
        (static_cast<unsigned char>(text[i]) << 8) | static_cast<unsigned char>(text[i + 1]);
    ids.push_back(static_cast<int32_t>(v % (t.vocab_size() + 3)) - 1);
  }
  bool in_range = true;
  for (int32_t id : ids) in_range = in_range && id >= 0 && id < t.vocab_size() && t.id_to_token(id);
  auto s = t.decode(ids, text.size() % 2 == 1);
  check(s.ok() == in_range);
  if (!s.ok()) {
    check(s.status().code() == StatusCode::kOutOfRange);
  } else {
    check(is_valid_utf8(*s));
    stream_equals_decode(t, ids, false);
    stream_equals_decode(t, ids, true);
  }
}

}  // namespace
}  // namespace pdserve::tokenizer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pdserve::tokenizer;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t zero = input.find('\0');
  const std::string_view json = input.substr(0, zero);
  const std::string_view text = zero == std::string_view::npos ? "" : input.substr(zero + 1);
  auto loaded = Tokenizer::from_json(json);
  if (loaded.ok()) {
    exercise(**loaded, text, /*fixed=*/false, /*round_trip=*/false);
  } else {
    check(!loaded.status().message().empty());
  }
  const auto& fixed = fixed_tokenizers();
  for (size_t i = 0; i < fixed.size(); ++i)
    exercise(*fixed[i], text, /*fixed=*/true, /*round_trip=*/i == 0);
  return 0;
}
