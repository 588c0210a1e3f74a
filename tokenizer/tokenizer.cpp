#include "tokenizer/tokenizer.h"

#include "common/base/text_file.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {

Status Pipeline::encode(std::string_view text, bool add_special, bool split_special,
                        std::vector<int32_t>& ids) const {
  if (!is_valid_utf8(text)) return invalid_argument("text is not valid UTF-8");
  std::vector<Piece> pieces;
  // 1. Added tokens matched in the raw text; 2. the rest normalized, then the
  // normalized added tokens; 3. pre-tokenize and run the model on each piece.
  for (const Segment& raw : added->split(text, /*normalized_set=*/false, split_special)) {
    if (raw.token_id >= 0) {
      ids.push_back(raw.token_id);
      continue;
    }
    std::string normalized(text.substr(raw.begin, raw.end - raw.begin));
    if (normalized.empty()) continue;
    if (normalizer != nullptr) PD_RETURN_IF_ERROR(normalizer->normalize(normalized));
    for (const Segment& seg : added->split(normalized, /*normalized_set=*/true, split_special)) {
      if (seg.token_id >= 0) {
        ids.push_back(seg.token_id);
        continue;
      }
      if (seg.end <= seg.begin) continue;
      pieces.clear();
      pieces.push_back(
          {normalized.substr(seg.begin, seg.end - seg.begin), raw.begin == 0 && seg.begin == 0});
      if (pre_tokenizer != nullptr) PD_RETURN_IF_ERROR(pre_tokenizer->pre_tokenize(pieces));
      for (const Piece& p : pieces) PD_RETURN_IF_ERROR(model->tokenize(p.text, ids));
    }
  }
  if (add_special && post_processor != nullptr) post_processor->process(ids);
  return ok_status();
}

Result<std::string> Pipeline::decode(std::span<const int32_t> ids, bool skip_special,
                                     bool at_start) const {
  // This thread's token list, reused: a detokenizer decodes a window of one
  // token per generated token, and the strings of most tokens are short
  // enough to need no allocation of their own. A large decode's is not kept.
  constexpr size_t kMaxKeptTokens = 4096;
  thread_local std::vector<std::string> tokens;
  if (tokens.capacity() > kMaxKeptTokens) std::vector<std::string>().swap(tokens);
  tokens.clear();
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (!id_in_range(id))
      return out_of_range("token id " + std::to_string(id) + " is out of range");
    const auto form = decode_form.empty() ? decode_form.end() : decode_form.find(id);
    const std::string& t =
        form != decode_form.end() ? form->second : id_to_token[static_cast<size_t>(id)];
    if (skip_special && special_contents.count(t) != 0) continue;
    tokens.push_back(t);
  }
  if (decoder == nullptr) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0 || !at_start) out.push_back(' ');
      out.append(tokens[i]);
    }
    return out;
  }
  DecodeContext ctx;
  ctx.at_start = at_start;
  decoder->decode_chain(tokens, ctx);
  std::string out;
  for (const std::string& t : tokens) out.append(t);
  return out;
}

Tokenizer::Tokenizer(std::unique_ptr<Pipeline> pipeline) : pipeline_(std::move(pipeline)) {}
Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_json(std::string_view json) {
  PD_ASSIGN_OR_RETURN(auto pipeline, load_pipeline(json));
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(pipeline)));
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_file(const std::string& path) {
  PD_ASSIGN_OR_RETURN(std::string json, read_text_file(path, kMaxTokenizerJsonBytes, path));
  auto result = from_json(json);
  if (!result.ok()) return result.status().with_context(path);
  return result;
}

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text,
                                               const EncodeOptions& options) const {
  std::vector<int32_t> ids;
  PD_RETURN_IF_ERROR(
      pipeline_->encode(text, options.add_special_tokens, options.split_special_tokens, ids));
  return ids;
}

Result<std::string> Tokenizer::decode(std::span<const int32_t> ids,
                                      bool skip_special_tokens) const {
  return pipeline_->decode(ids, skip_special_tokens, /*at_start=*/true);
}

int Tokenizer::vocab_size() const {
  return static_cast<int>(pipeline_->has_token.size());
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* t = pipeline_->added->find_by_content(token)) return t->id;
  return pipeline_->model->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (!pipeline_->id_in_range(id)) return std::nullopt;
  return pipeline_->id_to_token[static_cast<size_t>(id)];
}

bool Tokenizer::is_special(int32_t id) const {
  return pipeline_->id_in_range(id) && pipeline_->special[static_cast<size_t>(id)] != 0;
}

}  // namespace pdserve::tokenizer
