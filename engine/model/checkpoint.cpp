#include "engine/model/checkpoint.h"

#include <algorithm>
#include <map>
#include <system_error>
#include <utility>

#include "common/base/text_file.h"
#include "common/json/json_reader.h"
#include "engine/model/mapped_file.h"
#include "engine/model/safetensors_header.h"

namespace pdserve::model {
namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr size_t kMaxIndexBytes = 64u << 20;

bool file_exists(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// A shard name from the index must name a file in the checkpoint folder,
// nothing above or beside it.
bool is_plain_file_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char ch) {
    return ch == '/' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20;
  });
}

// weight_map of the index, grouped by shard: shard -> tensor names.
Result<std::map<std::string, std::vector<std::string>>> read_index(
    const std::filesystem::path& dir) {
  PD_ASSIGN_OR_RETURN(std::string text,
                      read_text_file(dir / kIndexFile, kMaxIndexBytes, kIndexFile));
  PD_ASSIGN_OR_RETURN(nlohmann::json index, json_reader::parse_file_text(text, kIndexFile));
  const std::string prefix = std::string(kIndexFile) + ": ";
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    return invalid_argument(prefix + "must be an object with a \"weight_map\" object");
  }
  std::map<std::string, std::vector<std::string>> shards;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string() || !is_plain_file_name(shard.get<std::string>())) {
      return invalid_argument(prefix + "tensor " + json_reader::quote(tensor) + ": shard " +
                              json_reader::excerpt(shard) +
                              " must be a file name in the checkpoint folder");
    }
    shards[shard.get<std::string>()].push_back(tensor);
  }
  if (shards.empty()) return invalid_argument(prefix + "\"weight_map\" is empty");
  return shards;
}

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // checked against overflow when the header was read
  return n;
}

struct Checkpoint::Mapping {
  MappedFile file;
  SafetensorsHeader header;
};

Checkpoint::Checkpoint() = default;
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

Result<Checkpoint> Checkpoint::open(const std::filesystem::path& dir) {
  Checkpoint checkpoint;
  // Maps one file, validates its header and adds the tensors `wanted` accepts.
  auto add_file = [&](const std::string& name, auto&& wanted) -> Result<const Mapping*> {
    PD_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(dir / name));
    PD_ASSIGN_OR_RETURN(SafetensorsHeader header, parse_safetensors_header(file.bytes(), name));
    auto mapping = std::make_unique<Mapping>(Mapping{std::move(file), std::move(header)});
    const std::byte* data = mapping->file.bytes().data() + mapping->header.data_offset;
    for (const SafetensorsTensor& t : mapping->header.tensors) {
      if (!wanted(t.name)) continue;
      checkpoint.tensors_.push_back(TensorView{t.name, t.dtype, t.shape, data + t.begin,
                                               static_cast<size_t>(t.end - t.begin), name});
    }
    checkpoint.mappings_.push_back(std::move(mapping));
    return checkpoint.mappings_.back().get();
  };

  if (file_exists(dir / kIndexFile)) {
    checkpoint.source_ = kIndexFile;
    PD_ASSIGN_OR_RETURN(auto shards, read_index(dir));
    for (const auto& [shard, names] : shards) {
      if (!file_exists(dir / shard)) {
        return not_found(std::string(kIndexFile) + ": shard \"" + shard + "\" (named for tensor " +
                         json_reader::quote(names.front()) + ") not found in " + dir.string());
      }
      // The index decides which shard holds a tensor; others are not loaded.
      std::vector<std::string> sorted = names;
      std::sort(sorted.begin(), sorted.end());
      auto in_index = [&](const std::string& n) {
        return std::binary_search(sorted.begin(), sorted.end(), n);
      };
      PD_ASSIGN_OR_RETURN(const Mapping* mapping, add_file(shard, in_index));
      const auto& held = mapping->header.tensors;
      for (const std::string& n : sorted) {
        auto it = std::lower_bound(
            held.begin(), held.end(), n,
            [](const SafetensorsTensor& t, const std::string& key) { return t.name < key; });
        if (it == held.end() || it->name != n) {
          return invalid_argument(shard + ": tensor " + json_reader::quote(n) +
                                  " is not in this file, but " + kIndexFile + " says it is");
        }
      }
    }
  } else if (file_exists(dir / kSingleFile)) {
    checkpoint.source_ = kSingleFile;
    PD_RETURN_IF_ERROR(add_file(kSingleFile, [](const std::string&) { return true; }).status());
  } else {
    return not_found(dir.string() + ": no " + kSingleFile + " or " + kIndexFile +
                     " (supported: one model.safetensors, or shards listed by " + kIndexFile + ")");
  }
  std::sort(checkpoint.tensors_.begin(), checkpoint.tensors_.end(),
            [](const TensorView& a, const TensorView& b) { return a.name < b.name; });
  return checkpoint;
}

const TensorView* Checkpoint::find(std::string_view name) const {
  auto it =
      std::lower_bound(tensors_.begin(), tensors_.end(), name,
                       [](const TensorView& t, std::string_view key) { return t.name < key; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

size_t Checkpoint::total_bytes() const {
  size_t total = 0;
  for (const TensorView& t : tensors_) total += t.nbytes;
  return total;
}

}  // namespace pdserve::model
