#include "tokenizer/unicode_normalization.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {
namespace {

struct CccRange {
  uint32_t first, last;
  uint8_t ccc;
};
struct Decomp {
  uint32_t cp, offset, len;
};
struct Composition {
  uint32_t first, second, composite;
};

#include "tokenizer/unicode_tables.inc"

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

uint8_t ccc_of(uint32_t cp) {
  const auto it = std::upper_bound(std::begin(kCccRanges), std::end(kCccRanges), cp,
                                   [](uint32_t c, const CccRange& r) { return c < r.first; });
  if (it == std::begin(kCccRanges)) return 0;
  const CccRange& r = *(it - 1);
  return cp <= r.last ? r.ccc : 0;
}

const Decomp* find_decomp(std::span<const Decomp> table, uint32_t cp) {
  const auto it = std::lower_bound(table.begin(), table.end(), cp,
                                   [](const Decomp& d, uint32_t c) { return d.cp < c; });
  return it != table.end() && it->cp == cp ? &*it : nullptr;
}

void decompose(uint32_t cp, bool compat, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const Decomp* d = compat ? find_decomp(kCompat, cp) : nullptr;
  if (d == nullptr) d = find_decomp(kCanonical, cp);
  if (d == nullptr) {
    out.push_back(cp);
    return;
  }
  out.insert(out.end(), kPool + d->offset, kPool + d->offset + d->len);
}

const std::unordered_map<uint64_t, uint32_t>& composition_map() {
  static const auto* map = [] {
    auto* m = new std::unordered_map<uint64_t, uint32_t>();
    for (const Composition& c : kCompositions) {
      (*m)[(static_cast<uint64_t>(c.first) << 32) | c.second] = c.composite;
    }
    return m;
  }();
  return *map;
}

bool compose_pair(uint32_t a, uint32_t b, uint32_t* out) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    *out = kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    return true;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    *out = a + (b - kTBase);
    return true;
  }
  const auto& map = composition_map();
  const auto it = map.find((static_cast<uint64_t>(a) << 32) | b);
  if (it == map.end()) return false;
  *out = it->second;
  return true;
}

void canonical_order(std::vector<uint32_t>& cps) {
  size_t i = 0;
  while (i < cps.size()) {
    if (ccc_of(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && ccc_of(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + static_cast<std::ptrdiff_t>(i),
                     cps.begin() + static_cast<std::ptrdiff_t>(j),
                     [](uint32_t a, uint32_t b) { return ccc_of(a) < ccc_of(b); });
    i = j;
  }
}

void compose(std::vector<uint32_t>& cps) {
  if (cps.empty()) return;
  size_t starter = 0;
  bool have_starter = ccc_of(cps[0]) == 0;
  int last_ccc = have_starter ? 0 : 256;
  size_t out = 1;
  for (size_t i = 1; i < cps.size(); ++i) {
    const uint32_t c = cps[i];
    const int ccc = ccc_of(c);
    uint32_t composite;
    if (have_starter && (last_ccc < ccc || last_ccc == 0) &&
        compose_pair(cps[starter], c, &composite)) {
      cps[starter] = composite;
      continue;
    }
    if (ccc == 0) {
      starter = out;
      have_starter = true;
      last_ccc = 0;
    } else {
      last_ccc = ccc;
    }
    cps[out++] = c;
  }
  cps.resize(out);
}

bool is_composition_second(uint32_t cp) {
  static const auto* seconds = [] {
    auto* v = new std::vector<uint32_t>();
    for (const Composition& c : kCompositions) v->push_back(c.second);
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
    return v;
  }();
  return std::binary_search(seconds->begin(), seconds->end(), cp);
}

// A character NFC leaves alone whatever precedes it (a starter that cannot
// decompose, reorder or be the second half of a composition): text between
// such characters can be normalized on its own.
bool nfc_stable(uint32_t cp) {
  if (cp < 0x300) return true;
  if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7A3)) return true;
  if (cp >= 0x1100 && cp <= 0x11FF) return false;  // conjoining jamo
  return ccc_of(cp) == 0 && find_decomp(kCanonical, cp) == nullptr && !is_composition_second(cp);
}

bool all_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string normalize_all(std::string_view text, bool compat, bool compose_forms) {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) decompose(next_code_point(text, i), compat, cps);
  canonical_order(cps);
  if (compose_forms) compose(cps);
  std::string out;
  out.reserve(text.size());
  for (uint32_t cp : cps) append_utf8(out, cp);
  return out;
}

// NFC touching only the regions around characters that are not stable: from
// the last stable character before one to the next stable character after it.
std::string nfc_by_regions(std::string_view text) {
  std::string out;
  size_t copied = 0, last_stable = 0, i = 0;
  while (i < text.size()) {
    const size_t start = i;
    if (nfc_stable(next_code_point(text, i))) {
      last_stable = start;
      continue;
    }
    const size_t begin = std::max(last_stable, copied);
    size_t end = text.size();
    for (size_t j = i; j < text.size();) {
      const size_t k = j;
      if (nfc_stable(next_code_point(text, j))) {
        end = k;
        break;
      }
    }
    out.append(text.substr(copied, begin - copied));
    out.append(normalize_all(text.substr(begin, end - begin), false, true));
    copied = last_stable = i = end;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace

std::string unicode_normalize(std::string_view text, bool compat, bool compose_forms) {
  if (all_ascii(text)) return std::string(text);
  if (compose_forms && !compat) return nfc_by_regions(text);
  return normalize_all(text, compat, compose_forms);
}

}  // namespace pdserve::tokenizer
