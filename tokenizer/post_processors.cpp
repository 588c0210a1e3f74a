#include "tokenizer/post_processors.h"

namespace pdserve::tokenizer {

void TemplatePostProcessor::process(std::vector<int32_t>& ids) const {
  std::vector<int32_t> out;
  out.reserve(ids.size() + 4);
  for (const TemplateItem& item : single_) {
    if (item.is_sequence) {
      out.insert(out.end(), ids.begin(), ids.end());
    } else {
      out.insert(out.end(), item.ids.begin(), item.ids.end());
    }
  }
  ids = std::move(out);
}

}  // namespace pdserve::tokenizer
