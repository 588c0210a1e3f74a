#include "engine/model/safetensors_header.h"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "common/json/json_reader.h"

namespace pdserve::model {
namespace {

using nlohmann::json;

// Deepest legal container start: root object (0), tensor entry (1), the
// shape / data_offsets arrays (2).
constexpr int kMaxContainerDepth = 2;

struct DTypeName {
  std::string_view name;
  backend::DType dtype;
};
constexpr DTypeName kDTypes[] = {{"F32", backend::DType::kF32},
                                 {"F16", backend::DType::kF16},
                                 {"BF16", backend::DType::kBF16},
                                 {"I32", backend::DType::kI32}};

class HeaderError {
 public:
  explicit HeaderError(const std::string& file) : file_(file) {}
  Status file_error(const std::string& what) const { return invalid_argument(file_ + ": " + what); }
  Status tensor_error(const std::string& name, const std::string& what) const {
    return invalid_argument(file_ + ": tensor " + json_reader::quote(name) + ": " + what);
  }

 private:
  const std::string& file_;
};

std::string range_text(uint64_t begin, uint64_t end) {
  std::string text = "[";  // built by append: GCC 12 misreads "[" + to_string() (-Wrestrict)
  text.append(std::to_string(begin)).append(", ").append(std::to_string(end)).append("]");
  return text;
}

// A first pass over the header with nlohmann's SAX parser (no DOM, linear
// in the text), for the limits the DOM parser does not have on its own:
// container depth (a deeply nested header would otherwise be built in
// full), duplicate keys (nlohmann keeps the last one silently) and the
// number of tensors. (The DOM parser's callback variant was used for this
// once: it rescans the parent object at every object end, quadratic in the
// number of tensors.)
class HeaderScan : public nlohmann::json_sax<json> {
 public:
  enum class Verdict { kOk, kNotJson, kTooDeep, kDuplicate, kTooManyTensors };

  Verdict verdict() const { return verdict_; }
  const std::string& detail() const { return detail_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (!open()) return false;
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& key) override {
    if (keys_.size() == 1 && ++num_root_keys_ > kMaxSafetensorsTensors + 1) {  // + __metadata__
      return stop(Verdict::kTooManyTensors, "");
    }
    if (!keys_.back().insert(key).second) return stop(Verdict::kDuplicate, key);
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    return stop(Verdict::kNotJson, e.what());
  }

 private:
  bool open() {
    if (depth_ > kMaxContainerDepth) return stop(Verdict::kTooDeep, "");
    ++depth_;
    return true;
  }
  bool stop(Verdict verdict, std::string detail) {
    verdict_ = verdict;
    detail_ = std::move(detail);
    return false;
  }

  int depth_ = 0;
  size_t num_root_keys_ = 0;
  std::vector<std::unordered_set<std::string>> keys_;  // one per open object
  Verdict verdict_ = Verdict::kOk;
  std::string detail_;
};

Result<json> parse_header_json(std::string_view text, const HeaderError& err) {
  HeaderScan scan;
  json::sax_parse(text.begin(), text.end(), &scan);
  switch (scan.verdict()) {
    case HeaderScan::Verdict::kOk: break;
    case HeaderScan::Verdict::kNotJson:
      return err.file_error("header is not valid JSON: " + scan.detail());
    case HeaderScan::Verdict::kTooDeep:
      return err.file_error("header is nested deeper than the safetensors schema");
    case HeaderScan::Verdict::kDuplicate:
      return err.file_error("header has the key " + json_reader::quote(scan.detail()) + " twice");
    case HeaderScan::Verdict::kTooManyTensors:
      return err.file_error("header lists more than " + std::to_string(kMaxSafetensorsTensors) +
                            " tensors");
  }
  json header = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return err.file_error("header is not valid JSON");
  if (!header.is_object()) return err.file_error("header is not a JSON object");
  return header;
}

Status parse_metadata(const json& value, const HeaderError& err, SafetensorsHeader& out) {
  if (!value.is_object()) return err.file_error("\"__metadata__\" must be an object");
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      return err.file_error("\"__metadata__\" entry " + json_reader::quote(key) +
                            " must be a string, got " + json_reader::excerpt(v));
    }
    out.metadata.emplace_back(key, v.get<std::string>());
  }
  return ok_status();
}

Result<backend::DType> parse_dtype(const json& value, const std::string& name,
                                   const HeaderError& err) {
  if (!value.is_string()) return err.tensor_error(name, "\"dtype\" must be a string");
  const std::string text = value.get<std::string>();
  for (const auto& d : kDTypes) {
    if (text == d.name) return d.dtype;
  }
  return err.tensor_error(name, "dtype " + json_reader::quote(text) +
                                    " is not supported (supported: F32, F16, BF16, I32)");
}

// Reads an array of non-negative integers that fit in int64.
Result<std::vector<uint64_t>> parse_uint_array(const json& value, const char* field,
                                               const std::string& name, const HeaderError& err) {
  if (!value.is_array()) {
    return err.tensor_error(name, std::string("\"") + field + "\" must be a list of integers");
  }
  std::vector<uint64_t> out;
  out.reserve(value.size());
  for (const auto& item : value) {
    if (!item.is_number_unsigned() || item.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return err.tensor_error(name, std::string("\"") + field +
                                        "\" must hold non-negative integers, got " +
                                        json_reader::excerpt(item));
    }
    out.push_back(item.get<uint64_t>());
  }
  return out;
}

Result<SafetensorsTensor> parse_tensor(const std::string& name, const json& value,
                                       uint64_t data_size, const HeaderError& err) {
  if (!value.is_object()) return err.tensor_error(name, "entry must be an object");
  for (const auto& [key, unused] : value.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      return err.tensor_error(name, "unexpected field " + json_reader::quote(key) +
                                        " (expected: dtype, shape, data_offsets)");
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key))
      return err.tensor_error(name, std::string("\"") + key + "\" is missing");
  }
  SafetensorsTensor t;
  t.name = name;
  PD_ASSIGN_OR_RETURN(t.dtype, parse_dtype(value["dtype"], name, err));
  PD_ASSIGN_OR_RETURN(std::vector<uint64_t> shape,
                      parse_uint_array(value["shape"], "shape", name, err));
  PD_ASSIGN_OR_RETURN(std::vector<uint64_t> offsets,
                      parse_uint_array(value["data_offsets"], "data_offsets", name, err));
  if (offsets.size() != 2) return err.tensor_error(name, "\"data_offsets\" must be [begin, end]");
  t.begin = offsets[0];
  t.end = offsets[1];
  if (t.begin > t.end) {
    return err.tensor_error(name,
                            "data_offsets " + range_text(t.begin, t.end) + " begin after end");
  }
  if (t.end > data_size) {
    return err.tensor_error(name, "data_offsets " + range_text(t.begin, t.end) +
                                      " outside the data section (" + std::to_string(data_size) +
                                      " bytes)");
  }
  uint64_t numel = 1;
  for (uint64_t dim : shape) {
    if (__builtin_mul_overflow(numel, dim, &numel) || numel > static_cast<uint64_t>(INT64_MAX)) {
      return err.tensor_error(
          name, "shape " + json_reader::excerpt(value["shape"]) + ": element count overflows");
    }
    t.shape.push_back(static_cast<int64_t>(dim));
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, backend::dtype_size(t.dtype), &nbytes)) {
    return err.tensor_error(
        name, "shape " + json_reader::excerpt(value["shape"]) + ": byte size overflows");
  }
  if (nbytes != t.end - t.begin) {
    return err.tensor_error(name, "data_offsets " + range_text(t.begin, t.end) + " hold " +
                                      std::to_string(t.end - t.begin) + " bytes, but " +
                                      safetensors_dtype_name(t.dtype) + " " +
                                      json_reader::excerpt(value["shape"]) + " needs " +
                                      std::to_string(nbytes));
  }
  return t;
}

Status check_no_overlap(const std::vector<SafetensorsTensor>& tensors, const HeaderError& err) {
  std::vector<const SafetensorsTensor*> by_offset;
  for (const auto& t : tensors) {
    if (t.begin != t.end) by_offset.push_back(&t);  // empty tensors overlap nothing
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const SafetensorsTensor& prev = *by_offset[i - 1];
    const SafetensorsTensor& cur = *by_offset[i];
    if (cur.begin < prev.end) {
      return err.tensor_error(cur.name, "data_offsets " + range_text(cur.begin, cur.end) +
                                            " overlap tensor " + json_reader::quote(prev.name) +
                                            " " + range_text(prev.begin, prev.end));
    }
  }
  return ok_status();
}

}  // namespace

const char* safetensors_dtype_name(backend::DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.name.data();
  }
  return "?";
}

Result<SafetensorsHeader> parse_safetensors_header(std::span<const std::byte> file,
                                                   const std::string& file_name) {
  HeaderError err(file_name);
  if (file.size() < 8) {
    return err.file_error("the file is " + std::to_string(file.size()) +
                          " bytes, too short for the 8-byte header length");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(file[i]);
  if (header_len > kMaxSafetensorsHeaderBytes) {
    return err.file_error("header length " + std::to_string(header_len) + " exceeds the limit of " +
                          std::to_string(kMaxSafetensorsHeaderBytes) + " bytes");
  }
  if (header_len > file.size() - 8) {
    return err.file_error("header length " + std::to_string(header_len) +
                          " runs past the end of the file (" + std::to_string(file.size()) +
                          " bytes)");
  }
  SafetensorsHeader out;
  out.data_offset = 8 + header_len;
  out.data_size = file.size() - out.data_offset;
  std::string_view text(reinterpret_cast<const char*>(file.data()) + 8, header_len);
  PD_ASSIGN_OR_RETURN(json header, parse_header_json(text, err));
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      PD_RETURN_IF_ERROR(parse_metadata(value, err, out));
      continue;
    }
    PD_ASSIGN_OR_RETURN(SafetensorsTensor t, parse_tensor(key, value, out.data_size, err));
    out.tensors.push_back(std::move(t));
  }
  PD_RETURN_IF_ERROR(check_no_overlap(out.tensors, err));
  // nlohmann's object is a std::map: items() came in name order already.
  return out;
}

}  // namespace pdserve::model
