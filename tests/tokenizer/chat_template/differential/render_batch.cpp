// render_batch IN.json: compiles and renders every template of
// {"context": {...}, "templates": ["...", ...]} and prints a JSON list of
// {"out": ...} or {"error": ...}. Driven by differential.py, which renders
// the same templates with Python jinja2 and reports every difference.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/chat_template/chat_template.h"

int main(int argc, char** argv) {
  using pdserve::chat_template::ChatTemplate;
  if (argc != 2) {
    std::cerr << "usage: render_batch IN.json\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream ss;
  ss << in.rdbuf();
  auto input = nlohmann::ordered_json::parse(ss.str());
  const std::string context = input["context"].dump();
  auto results = nlohmann::ordered_json::array();
  for (const auto& source : input["templates"]) {
    nlohmann::ordered_json r;
    auto compiled = ChatTemplate::compile(source.get<std::string>());
    if (!compiled.ok()) {
      r["error"] = compiled.status().to_string();
    } else if (auto out = compiled->render(context); out.ok()) {
      r["out"] = *out;
    } else {
      r["error"] = out.status().to_string();
    }
    results.push_back(std::move(r));
  }
  std::cout << results.dump() << "\n";
  return 0;
}
