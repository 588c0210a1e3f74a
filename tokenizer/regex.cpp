#include "tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {

struct Regex::Impl {
  pcre2_code* code = nullptr;
  ~Impl() {
    if (code != nullptr) pcre2_code_free(code);
  }
};

namespace {

// One match-data block per thread, grown on demand (PCRE2 needs one per concurrent match).
pcre2_match_data* thread_match_data() {
  struct Holder {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    ~Holder() { pcre2_match_data_free(md); }
  };
  thread_local Holder holder;
  return holder.md;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof(buf)) < 0) return "error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buf));
}

}  // namespace

Regex::Regex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Regex::~Regex() = default;

Result<std::unique_ptr<Regex>> Regex::compile(std::string_view pattern) {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  auto impl = std::make_unique<Impl>();
  impl->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP, &err, &err_offset, nullptr);
  if (impl->code == nullptr) {
    return invalid_argument("regex '" + std::string(pattern) + "' does not compile at offset " +
                            std::to_string(err_offset) + ": " + pcre2_message(err));
  }
  pcre2_jit_compile(impl->code, PCRE2_JIT_COMPLETE);  // best effort: the interpreter works too
  return std::unique_ptr<Regex>(new Regex(std::move(impl)));
}

Status Regex::find_all(std::string_view text, std::vector<Span>& out) const {
  pcre2_match_data* md = thread_match_data();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    const int rc =
        pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return resource_exhausted("regex match failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t begin = ov[0], end = ov[1];
    if (end < begin || end > text.size()) return internal_error("regex returned a bad span");
    out.emplace_back(begin, end);
    if (end > begin) {
      pos = end;
    } else {
      if (begin >= text.size()) break;
      pos = begin + utf8_seq_len(static_cast<unsigned char>(text[begin]));
    }
  }
  return ok_status();
}

bool Regex::matches_at(std::string_view text, size_t pos) const {
  if (pos > text.size()) return false;
  const int rc =
      pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos,
                  PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, thread_match_data(), nullptr);
  return rc >= 0;
}

}  // namespace pdserve::tokenizer
