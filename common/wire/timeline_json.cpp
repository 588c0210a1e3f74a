#include "common/wire/timeline_json.h"

#include "common/json/json_reader.h"

namespace pdserve::server::internal {
namespace {

using json = json_reader::Json;

constexpr int kMaxDepth = 4;

bool is_reserved(const std::string& key) {
  return key == "process" || key == "event" || key == "time_us";
}

}  // namespace

std::string timeline_to_json(std::string_view request_id, const std::vector<Milestone>& milestones,
                             const std::vector<std::string>* unreachable) {
  json list = json::array();
  for (const Milestone& m : milestones) {
    json o = {{"process", m.process}, {"event", m.event}, {"time_us", m.unix_us}};
    for (const MilestoneField& f : m.fields) {
      if (is_reserved(f.key)) continue;
      if (const int64_t* n = std::get_if<int64_t>(&f.value))
        o[f.key] = *n;
      else
        o[f.key] = std::get<std::string>(f.value);
    }
    list.push_back(std::move(o));
  }
  json body{{"request_id", std::string(request_id)}, {"milestones", list}};
  if (unreachable != nullptr) body["unreachable"] = *unreachable;
  return json_reader::dump(body);
}

Result<std::vector<Milestone>> parse_timeline(std::string_view body) {
  json_reader::Parsed p = json_reader::parse(body, kMaxDepth);
  if (!p.value || !p.value->is_object()) return invalid_argument("timeline: not a JSON object");
  auto list = p.value->find("milestones");
  if (list == p.value->end() || !list->is_array())
    return invalid_argument("timeline: milestones must be an array");
  std::vector<Milestone> out;
  for (const json& o : *list) {
    if (!o.is_object()) return invalid_argument("timeline: a milestone must be an object");
    Milestone m;
    for (auto it = o.begin(); it != o.end(); ++it) {
      const std::string& k = it.key();
      const json& v = it.value();
      if (k == "process" && v.is_string()) {
        m.process = v.get<std::string>();
      } else if (k == "event" && v.is_string()) {
        m.event = v.get<std::string>();
      } else if (k == "time_us" && v.is_number_integer()) {
        m.unix_us = v.get<int64_t>();
      } else if (is_reserved(k)) {
        return invalid_argument("timeline: " + k + " has the wrong type");
      } else if (v.is_number_integer()) {
        m.fields.push_back({k, v.get<int64_t>()});
      } else if (v.is_string()) {
        m.fields.push_back({k, v.get<std::string>()});
      } else {
        return invalid_argument("timeline: field " + k + " must be an integer or a string");
      }
    }
    if (m.process.empty() || m.event.empty() || m.unix_us == 0)
      return invalid_argument("timeline: a milestone needs process, event and time_us");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace pdserve::server::internal
