#include "structured/grammar_builder.h"

#include <utility>

#include "structured/grammar_checks.h"
#include "structured/utf8_ranges.h"

namespace pdserve::structured {

int32_t GrammarBuilder::declare_rule(std::string name) {
  names_.push_back(std::move(name));
  rules_.emplace_back();
  defined_.push_back(false);
  return static_cast<int32_t>(rules_.size() - 1);
}

int32_t GrammarBuilder::find_rule(const std::string& name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int32_t>(i);
  }
  return -1;
}

bool GrammarBuilder::is_defined(int32_t rule) const {
  return rule >= 0 && static_cast<size_t>(rule) < defined_.size() &&
         defined_[static_cast<size_t>(rule)];
}

Status GrammarBuilder::define_rule(int32_t rule, const Expr& body) {
  if (rule < 0 || static_cast<size_t>(rule) >= rules_.size()) {
    return invalid_argument("grammar: rule id " + std::to_string(rule) + " was never declared");
  }
  if (is_defined(rule)) {
    return invalid_argument("grammar: rule '" + names_[static_cast<size_t>(rule)] +
                            "' is defined twice");
  }
  std::string owner = names_[static_cast<size_t>(rule)];
  std::vector<Alt> alts;
  if (body.kind == Expr::Kind::kAlt) {
    PD_RETURN_IF_ERROR(lower_alternatives(body.children, owner, &alts));
  } else {
    PD_RETURN_IF_ERROR(lower_alternatives({body}, owner, &alts));
  }
  rules_[static_cast<size_t>(rule)] = std::move(alts);
  defined_[static_cast<size_t>(rule)] = true;
  return check_size();
}

Status GrammarBuilder::lower_alternatives(const std::vector<Expr>& options,
                                          const std::string& owner, std::vector<Alt>* alts) {
  for (const Expr& option : options) {
    Alt alt;
    PD_RETURN_IF_ERROR(lower(option, owner, &alt));
    num_elements_ += alt.size() + 1;
    alts->push_back(std::move(alt));
  }
  return ok_status();
}

Status GrammarBuilder::lower(const Expr& e, const std::string& owner, Alt* out) {
  switch (e.kind) {
    case Expr::Kind::kEmpty: return ok_status();
    case Expr::Kind::kLiteral:
      for (char c : e.text) {
        ByteSet set;
        set.set(static_cast<uint8_t>(c));
        out->push_back({Element::Kind::kBytes, byte_set_id(set)});
      }
      return ok_status();
    case Expr::Kind::kClass: {
      if (e.ranges.empty()) {
        return invalid_argument("grammar: rule '" + owner + "' has a character class that " +
                                "matches nothing");
      }
      if (e.ranges.back().hi < 0x80) {
        ByteSet set;
        for (const CodepointRange& r : e.ranges) {
          set.set_range(static_cast<uint8_t>(r.lo), static_cast<uint8_t>(r.hi));
        }
        out->push_back({Element::Kind::kBytes, byte_set_id(set)});
      } else {
        out->push_back({Element::Kind::kRule, class_rule(e.ranges, owner)});
      }
      return ok_status();
    }
    case Expr::Kind::kRule:
      if (e.rule < 0 || static_cast<size_t>(e.rule) >= rules_.size()) {
        return invalid_argument("grammar: rule '" + owner + "' refers to an undeclared rule");
      }
      out->push_back({Element::Kind::kRule, e.rule});
      return ok_status();
    case Expr::Kind::kSeq:
      for (const Expr& child : e.children) PD_RETURN_IF_ERROR(lower(child, owner, out));
      return ok_status();
    case Expr::Kind::kAlt: {
      std::vector<Alt> alts;
      PD_RETURN_IF_ERROR(lower_alternatives(e.children, owner, &alts));
      out->push_back({Element::Kind::kRule, helper_rule(owner, std::move(alts))});
      return ok_status();
    }
    case Expr::Kind::kRepeat: return lower_repeat(e, owner, out);
  }
  return internal_error("grammar: unknown expression kind");
}

// item{min,max}: the item (as one element) `min` times, then a tail of
// nested optionals opt_k ::= item opt_{k-1} | "" for the `max - min` more;
// item{min,}: the item `min` times, then star ::= item star | "".
Status GrammarBuilder::lower_repeat(const Expr& e, const std::string& owner, Alt* out) {
  if (e.min < 0 || e.min > kMaxRepeat || (e.max != kUnbounded && e.max > kMaxRepeat)) {
    return invalid_argument("grammar: rule '" + owner + "' repeats more than " +
                            std::to_string(kMaxRepeat) + " times");
  }
  if (e.max != kUnbounded && e.max < e.min) {
    return invalid_argument("grammar: rule '" + owner + "' has a repetition {" +
                            std::to_string(e.min) + "," + std::to_string(e.max) +
                            "} whose maximum is below its minimum");
  }
  Alt item;
  PD_RETURN_IF_ERROR(lower(e.children[0], owner, &item));
  if (item.empty()) return ok_status();
  Element unit = item.size() == 1
                     ? item[0]
                     : Element{Element::Kind::kRule, helper_rule(owner, {std::move(item)})};
  out->insert(out->end(), static_cast<size_t>(e.min), unit);
  num_elements_ += static_cast<size_t>(e.min);
  if (e.max == kUnbounded) {
    int32_t star = declare_rule(owner + "_star" + std::to_string(rules_.size()));
    rules_[static_cast<size_t>(star)] = {{unit, {Element::Kind::kRule, star}}, {}};
    defined_[static_cast<size_t>(star)] = true;
    num_elements_ += 4;
    out->push_back({Element::Kind::kRule, star});
    return check_size();
  }
  int32_t tail = -1;
  for (int32_t k = 0; k < e.max - e.min; ++k) {
    Alt more{unit};
    if (tail >= 0) more.push_back({Element::Kind::kRule, tail});
    tail = helper_rule(owner, {std::move(more), {}});
    PD_RETURN_IF_ERROR(check_size());
  }
  if (tail >= 0) out->push_back({Element::Kind::kRule, tail});
  return ok_status();
}

int32_t GrammarBuilder::helper_rule(const std::string& owner, std::vector<Alt> alts) {
  int32_t id = declare_rule(owner + "_" + std::to_string(rules_.size()));
  for (const Alt& a : alts) num_elements_ += a.size() + 1;
  rules_[static_cast<size_t>(id)] = std::move(alts);
  defined_[static_cast<size_t>(id)] = true;
  return id;
}

int32_t GrammarBuilder::class_rule(const std::vector<CodepointRange>& ranges,
                                   const std::string& owner) {
  std::string key;
  for (const CodepointRange& r : ranges)
    key += std::to_string(r.lo) + "-" + std::to_string(r.hi) + ",";
  auto it = class_rules_.find(key);
  if (it != class_rules_.end()) return it->second;
  std::vector<Alt> alts;
  ByteSet ascii;
  bool has_ascii = false;
  for (const CodepointRange& r : ranges) {
    for (const ByteRangeSeq& seq : utf8_sequences(r)) {
      if (seq.size() == 1) {
        ascii.set_range(seq[0].lo, seq[0].hi);
        has_ascii = true;
        continue;
      }
      Alt alt;
      for (const ByteRange& br : seq) {
        ByteSet set;
        set.set_range(br.lo, br.hi);
        alt.push_back({Element::Kind::kBytes, byte_set_id(set)});
      }
      alts.push_back(std::move(alt));
    }
  }
  if (has_ascii) alts.insert(alts.begin(), Alt{{Element::Kind::kBytes, byte_set_id(ascii)}});
  int32_t id = helper_rule(owner + "_char", std::move(alts));
  class_rules_.emplace(std::move(key), id);
  return id;
}

int32_t GrammarBuilder::byte_set_id(const ByteSet& set) {
  auto [it, inserted] = byte_set_ids_.emplace(set, static_cast<int32_t>(byte_sets_.size()));
  if (inserted) byte_sets_.push_back(set);
  return it->second;
}

Status GrammarBuilder::check_size() {
  if (num_elements_ > kMaxElements) {
    return invalid_argument("grammar: more than " + std::to_string(kMaxElements) +
                            " elements (the constraint is too large)");
  }
  return ok_status();
}

Result<Grammar> GrammarBuilder::build(int32_t root) const {
  if (root < 0 || static_cast<size_t>(root) >= rules_.size()) {
    return invalid_argument("grammar: no root rule");
  }
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (!defined_[r]) return invalid_argument("grammar: rule '" + names_[r] + "' is not defined");
  }
  Grammar g;
  g.names_ = names_;
  g.byte_sets_ = byte_sets_;
  g.root_ = root;
  for (const std::vector<Alt>& alts : rules_) {
    std::vector<int32_t> starts;
    for (const Alt& alt : alts) {
      starts.push_back(static_cast<int32_t>(g.elements_.size()));
      g.elements_.insert(g.elements_.end(), alt.begin(), alt.end());
      g.elements_.push_back({Element::Kind::kEnd, -1});
    }
    g.rule_alts_.push_back(std::move(starts));
  }
  PD_RETURN_IF_ERROR(check_grammar(g));
  return g;
}

Result<Grammar> build_single_rule(const Expr& body) {
  GrammarBuilder b;
  int32_t root = b.declare_rule("root");
  PD_RETURN_IF_ERROR(b.define_rule(root, body));
  return b.build(root);
}

}  // namespace pdserve::structured
