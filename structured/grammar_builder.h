// GrammarBuilder: lowers Expr rule bodies to a flat byte-level Grammar.
// Alternatives nested in sequences, repetitions and multi-byte character
// classes become helper rules; a repetition `x*` becomes the right-recursive
// `r ::= x r | ""`, which the recognizer runs in constant stack depth.
//
// Usage: declare every rule first (so bodies can refer to each other, also
// recursively), define each, then build(root). build() fails with a message
// naming the rule on: a declared rule left without a body, left recursion,
// a rule that derives no finite string, or a grammar past the size limit.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "structured/expr.h"
#include "structured/grammar.h"

namespace pdserve::structured {

class GrammarBuilder {
 public:
  // Most elements a grammar may have (a bound on schema and grammar size).
  static constexpr size_t kMaxElements = size_t{1} << 20;
  // Largest repetition count a rule may spell out ({m,n} with n up to this).
  static constexpr int32_t kMaxRepeat = 10000;

  // A new rule with no body yet. Names need not be unique; find_rule finds
  // the first with that name.
  int32_t declare_rule(std::string name);
  int32_t find_rule(const std::string& name) const;  // -1 when absent
  // Defines a declared rule once; fails on a second definition, on a
  // reference to an undeclared rule, or on a repetition past kMaxRepeat.
  Status define_rule(int32_t rule, const Expr& body);
  bool is_defined(int32_t rule) const;

  Result<Grammar> build(int32_t root) const;

 private:
  using Alt = std::vector<Element>;
  Status lower(const Expr& e, const std::string& owner, Alt* out);
  Status lower_alternatives(const std::vector<Expr>& options, const std::string& owner,
                            std::vector<Alt>* alts);
  Status lower_repeat(const Expr& e, const std::string& owner, Alt* out);
  int32_t class_rule(const std::vector<CodepointRange>& ranges, const std::string& owner);
  int32_t byte_set_id(const ByteSet& set);
  int32_t helper_rule(const std::string& owner, std::vector<Alt> alts);
  Status check_size();

  std::vector<std::string> names_;
  std::vector<std::vector<Alt>> rules_;
  std::vector<bool> defined_;
  std::vector<ByteSet> byte_sets_;
  std::map<ByteSet, int32_t> byte_set_ids_;
  std::map<std::string, int32_t> class_rules_;
  size_t num_elements_ = 0;
};

// A grammar of one rule, "root", with `body` (a regex or a list of choices).
Result<Grammar> build_single_rule(const Expr& body);

}  // namespace pdserve::structured
