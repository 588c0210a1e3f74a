#include "cli/structured_vocabulary.h"

#include "tokenizer/token_bytes.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::cli {

Result<std::shared_ptr<structured::GrammarCompiler>> load_grammar_compiler(
    const std::filesystem::path& model_dir, const std::vector<int32_t>& stop_token_ids) {
  PD_ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok,
                      tokenizer::Tokenizer::from_file((model_dir / "tokenizer.json").string()));
  PD_ASSIGN_OR_RETURN(std::vector<std::string> bytes, tokenizer::token_bytes(*tok));
  std::vector<int32_t> stops;
  for (int32_t id : stop_token_ids)
    if (id >= 0 && id < static_cast<int32_t>(bytes.size())) stops.push_back(id);
  PD_ASSIGN_OR_RETURN(std::shared_ptr<const structured::Vocabulary> vocab,
                      structured::Vocabulary::create(std::move(bytes), std::move(stops)));
  return std::make_shared<structured::GrammarCompiler>(std::move(vocab));
}

}  // namespace pdserve::cli
