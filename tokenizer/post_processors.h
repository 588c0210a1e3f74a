// Post-processors of tokenizer.json for a single sequence: TemplateProcessing
// (BOS/EOS), BertProcessing and RobertaProcessing ([CLS] A [SEP]), ByteLevel
// (offsets only: no change to ids) and Sequence.
#pragma once

#include <memory>
#include <vector>

#include "tokenizer/components.h"

namespace pdserve::tokenizer {

// One template item: the sequence ($A) or a run of special-token ids.
struct TemplateItem {
  bool is_sequence = false;
  std::vector<int32_t> ids;
};

class TemplatePostProcessor final : public PostProcessor {
 public:
  explicit TemplatePostProcessor(std::vector<TemplateItem> single) : single_(std::move(single)) {}
  void process(std::vector<int32_t>& ids) const override;

 private:
  std::vector<TemplateItem> single_;
};

class PostProcessorSequence final : public PostProcessor {
 public:
  explicit PostProcessorSequence(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}
  void process(std::vector<int32_t>& ids) const override {
    for (const auto& s : steps_) s->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

class NoopPostProcessor final : public PostProcessor {
 public:
  void process(std::vector<int32_t>&) const override {}
};

}  // namespace pdserve::tokenizer
