// Helpers for the tokenizer tests: building small tokenizer.json texts.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

namespace pdserve::tokenizer {

// A tokenizer.json with the given sections (JSON text; "null" for none).
inline std::string tokenizer_json(const std::string& model, const std::string& added = "[]",
                                  const std::string& normalizer = "null",
                                  const std::string& pre_tokenizer = "null",
                                  const std::string& post_processor = "null",
                                  const std::string& decoder = "null") {
  return R"({"version":"1.0","truncation":null,"padding":null,"added_tokens":)" + added +
         R"(,"normalizer":)" + normalizer + R"(,"pre_tokenizer":)" + pre_tokenizer +
         R"(,"post_processor":)" + post_processor + R"(,"decoder":)" + decoder + R"(,"model":)" +
         model + "}";
}

inline std::string bpe_model(const std::string& vocab, const std::string& merges,
                             const std::string& extra = "") {
  return R"({"type":"BPE","dropout":null,"unk_token":null,"fuse_unk":false,"byte_fallback":false,)" +
         extra + R"("vocab":)" + vocab + R"(,"merges":)" + merges + "}";
}

inline std::unique_ptr<Tokenizer> load_or_die(const std::string& json) {
  auto t = Tokenizer::from_json(json);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  if (!t.ok()) return nullptr;
  return std::move(t).value();
}

inline std::vector<int32_t> enc(const Tokenizer& t, const std::string& text,
                                EncodeOptions options = {}) {
  auto ids = t.encode(text, options);
  EXPECT_TRUE(ids.ok()) << ids.status().to_string();
  return ids.ok() ? *ids : std::vector<int32_t>{-999};
}

inline std::string dec(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip = false) {
  auto s = t.decode(ids, skip);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? *s : "<error>";
}

}  // namespace pdserve::tokenizer
