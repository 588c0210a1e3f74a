// tokenizer.json -> Pipeline: the top level, the BPE model and the added
// tokens (the other sections are in component_loader.cpp). Sizes and ids from
// the file are untrusted: ids must be dense enough to index a table.

#include "tokenizer/component_loader.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/pipeline.h"

namespace pdserve::tokenizer {
namespace {

Status bad(const std::string& what) {
  return invalid_argument("tokenizer.json: " + what);
}

Result<int32_t> token_id(const Json& v, const std::string& where) {
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > INT32_MAX) ||
      v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
    return bad(where + " must be an integer id in [0, 2^31)");
  }
  return v.get<int32_t>();
}

Result<std::unique_ptr<BpeModel>> load_model(const Json& m) {
  if (!m.is_object()) return bad("model must be an object");
  const auto type_it = m.find("type");
  if (type_it != m.end()) {
    if (!type_it->is_string()) return bad("model.type must be a string");
    const std::string type = type_it->get<std::string>();
    if (type != "BPE") return bad("unsupported model type '" + type + "' (supported: BPE)");
  }
  const auto vocab_it = m.find("vocab");
  if (vocab_it == m.end() || !vocab_it->is_object()) return bad("model.vocab must be an object");
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(vocab_it->size());
  for (const auto& [token, id] : vocab_it->items()) {
    PD_ASSIGN_OR_RETURN(vocab[token], token_id(id, "model.vocab['" + token + "']"));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  const auto merges_it = m.find("merges");
  if (merges_it != m.end() && !merges_it->is_null()) {
    if (!merges_it->is_array()) return bad("model.merges must be an array");
    merges.reserve(merges_it->size());
    for (const Json& merge : *merges_it) {
      const std::string rank = std::to_string(merges.size());
      if (merge.is_string()) {
        const std::string s = merge.get<std::string>();
        const size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
          return bad("merge " + rank + " '" + s + "' is not two tokens separated by one space");
        }
        merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                 merge[1].is_string()) {
        merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
      } else {
        return bad("merge " + rank + " must be \"a b\" or [\"a\", \"b\"]");
      }
    }
  }
  const auto dropout = m.find("dropout");
  if (dropout != m.end() && !dropout->is_null()) {
    if (!dropout->is_number()) return bad("model.dropout must be a number or null");
    if (dropout->get<double>() != 0.0)
      return bad("BPE dropout is not supported (not deterministic)");
  }
  BpeOptions options;
  PD_ASSIGN_OR_RETURN(options.unk_token, fields(m, "model").optional_string("unk_token"));
  PD_ASSIGN_OR_RETURN(auto prefix, fields(m, "model").optional_string("continuing_subword_prefix"));
  PD_ASSIGN_OR_RETURN(auto suffix, fields(m, "model").optional_string("end_of_word_suffix"));
  options.continuing_subword_prefix = prefix.value_or("");
  options.end_of_word_suffix = suffix.value_or("");
  PD_ASSIGN_OR_RETURN(options.fuse_unk, fields(m, "model").bool_or("fuse_unk", false));
  PD_ASSIGN_OR_RETURN(options.byte_fallback, fields(m, "model").bool_or("byte_fallback", false));
  PD_ASSIGN_OR_RETURN(options.ignore_merges, fields(m, "model").bool_or("ignore_merges", false));
  auto model = BpeModel::create(std::move(vocab), merges, std::move(options));
  if (!model.ok()) return bad(model.status().message());
  return model;
}

Result<std::vector<AddedToken>> load_added_tokens(const Json& root) {
  std::vector<AddedToken> tokens;
  const auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return tokens;
  if (!it->is_array()) return bad("added_tokens must be an array");
  for (const Json& a : *it) {
    const std::string where = "added_tokens[" + std::to_string(tokens.size()) + "]";
    if (!a.is_object()) return bad(where + " must be an object");
    AddedToken t;
    const auto id = a.find("id");
    if (id == a.end()) return bad(where + " has no 'id'");
    PD_ASSIGN_OR_RETURN(t.id, token_id(*id, where + ".id"));
    const auto content = a.find("content");
    if (content == a.end() || !content->is_string())
      return bad(where + ".content must be a string");
    t.content = content->get<std::string>();
    PD_ASSIGN_OR_RETURN(t.single_word, fields(a, where).bool_or("single_word", false));
    PD_ASSIGN_OR_RETURN(t.lstrip, fields(a, where).bool_or("lstrip", false));
    PD_ASSIGN_OR_RETURN(t.rstrip, fields(a, where).bool_or("rstrip", false));
    PD_ASSIGN_OR_RETURN(t.special, fields(a, where).bool_or("special", false));
    PD_ASSIGN_OR_RETURN(t.normalized, fields(a, where).bool_or("normalized", !t.special));
    tokens.push_back(std::move(t));
  }
  return tokens;
}

std::string section(const Json& root, const char* name) {
  const auto it = root.find(name);
  return it == root.end() ? std::string() : it->dump();
}

Status build_tables(Pipeline& p) {
  int64_t max_id = -1;
  size_t count = p.model->vocab().size() + p.added->tokens().size();
  for (const auto& [token, id] : p.model->vocab()) max_id = std::max<int64_t>(max_id, id);
  for (const AddedToken& t : p.added->tokens()) max_id = std::max<int64_t>(max_id, t.id);
  if (max_id + 1 > static_cast<int64_t>(4 * count + 65536)) {
    return bad("token ids are too sparse (highest id " + std::to_string(max_id) + " for " +
               std::to_string(count) + " tokens)");
  }
  const auto n = static_cast<size_t>(max_id + 1);
  p.id_to_token.assign(n, std::string());
  p.has_token.assign(n, 0);
  p.special.assign(n, 0);
  for (const auto& [token, id] : p.model->vocab()) {
    p.id_to_token[static_cast<size_t>(id)] = token;
    p.has_token[static_cast<size_t>(id)] = 1;
  }
  for (const AddedToken& t : p.added->tokens()) {
    p.id_to_token[static_cast<size_t>(t.id)] = t.content;
    p.has_token[static_cast<size_t>(t.id)] = 1;
    if (!t.normalized_form.empty()) p.decode_form[t.id] = t.normalized_form;
    if (t.special) {
      p.special[static_cast<size_t>(t.id)] = 1;
      p.special_contents.insert(t.content);
    }
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<Pipeline>> load_pipeline(std::string_view text) {
  try {
    Json root;
    try {
      root = Json::parse(text);
    } catch (const Json::parse_error& e) {
      return bad(std::string("malformed JSON: ") + e.what());
    }
    if (!root.is_object()) return bad("the top level must be an object");
    for (const char* name : {"truncation", "padding"}) {
      const auto it = root.find(name);
      if (it != root.end() && !it->is_null()) {
        return bad(std::string(name) + " is not supported (set it to null)");
      }
    }
    const auto model = root.find("model");
    if (model == root.end()) return bad("no 'model'");
    auto p = std::make_unique<Pipeline>();
    PD_ASSIGN_OR_RETURN(p->model, load_model(*model));
    std::vector<int64_t> post_ids;
    PD_RETURN_IF_ERROR(load_components({section(root, "normalizer"), section(root, "pre_tokenizer"),
                                        section(root, "post_processor"), section(root, "decoder")},
                                       *p, &post_ids));
    PD_ASSIGN_OR_RETURN(auto added, load_added_tokens(root));
    auto vocabulary = AddedVocabulary::create(std::move(added), p->normalizer.get());
    if (!vocabulary.ok()) return bad("added_tokens: " + vocabulary.status().message());
    p->added = std::move(vocabulary).value();
    PD_RETURN_IF_ERROR(build_tables(*p));
    for (int64_t id : post_ids) {
      if (id < 0 || id > INT32_MAX || !p->id_in_range(static_cast<int32_t>(id))) {
        return bad("post_processor uses token id " + std::to_string(id) +
                   " that is not in the vocabulary");
      }
    }
    return p;
  } catch (const std::exception& e) {
    return bad(std::string("unexpected structure: ") + e.what());
  }
}

}  // namespace pdserve::tokenizer
