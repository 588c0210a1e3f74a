// parse_ordered: nlohmann's SAX parser feeding a builder that keeps, per open
// object, an index from key to member position, so a key is placed (or a
// repeated one found) in constant time instead of a scan of the object.
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/json/json_reader.h"

namespace pdserve::json_reader {
namespace {

class OrderedBuilder {
 public:
  using number_integer_t = OrderedJson::number_integer_t;
  using number_unsigned_t = OrderedJson::number_unsigned_t;
  using number_float_t = OrderedJson::number_float_t;
  using string_t = OrderedJson::string_t;
  using binary_t = OrderedJson::binary_t;

  bool null() { return add(nullptr); }
  bool boolean(bool v) { return add(v); }
  bool number_integer(number_integer_t v) { return add(v); }
  bool number_unsigned(number_unsigned_t v) { return add(v); }
  bool number_float(number_float_t v, const string_t& /*text*/) { return add(v); }
  bool string(string_t& v) { return add(std::move(v)); }
  bool binary(binary_t& v) { return add(OrderedJson::binary(std::move(v))); }
  bool start_object(std::size_t /*size*/) { return open(OrderedJson::object()); }
  bool start_array(std::size_t /*size*/) { return open(OrderedJson::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*e*/) {
    return false;
  }

  OrderedJson take() { return std::move(root_); }

 private:
  struct Open {
    OrderedJson* value;                                 // an object or an array
    std::unordered_map<std::string, size_t> positions;  // an object's keys -> member index
  };

  // Puts v where the parse is (the root, the open array's end, the open
  // object's pending key) and returns where it now lives. Pointers to the
  // open values stay valid: a container only grows while it is the innermost.
  OrderedJson* place(OrderedJson v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Open& top = open_.back();
    if (top.value->is_array()) {
      auto& items = top.value->get_ref<OrderedJson::array_t&>();
      items.push_back(std::move(v));
      return &items.back();
    }
    // The object's members as the vector they are (ordered_map's own
    // insertion scans for the key).
    OrderedJson::object_t::Container& members = top.value->get_ref<OrderedJson::object_t&>();
    auto [at, is_new] = top.positions.try_emplace(key_, members.size());
    if (!is_new) {
      members[at->second].second = std::move(v);
      return &members[at->second].second;
    }
    members.emplace_back(std::move(key_), std::move(v));
    return &members.back().second;
  }
  bool add(OrderedJson v) {
    place(std::move(v));
    return true;
  }
  bool open(OrderedJson v) {
    open_.push_back({place(std::move(v)), {}});
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  OrderedJson root_;
  std::vector<Open> open_;
  string_t key_;
};

}  // namespace

BasicParsed<OrderedJson> parse_ordered(std::string_view text, int max_depth) {
  BasicParsed<OrderedJson> p;
  if (nesting_depth(text, max_depth) > max_depth) {
    p.too_deep = true;
    return p;
  }
  OrderedBuilder builder;
  if (OrderedJson::sax_parse(text, &builder, OrderedJson::input_format_t::json,
                             /*strict=*/true))
    p.value = builder.take();
  return p;
}

}  // namespace pdserve::json_reader
