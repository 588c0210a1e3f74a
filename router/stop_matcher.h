// Stop strings over a stream of decoded text pieces. feed() returns the text
// that is safe to show now and holds back any tail that could still become a
// stop string (or that ends inside a UTF-8 code point); when a stop string
// completes, also across pieces, it reports it with the text before it. The
// stop string itself and anything after it are never returned.
//
//   StopMatcher m({"###", "\n\n"});
//   for (piece : pieces) {
//     StopMatcher::Output o = m.feed(piece);
//     emit(o.text);
//     if (o.stopped) { finish("stop"); break; }   // abort the generation
//   }
//   if (!m.stopped()) emit(m.finish());           // the generation ended by itself
//
// Which stop wins: the one whose first occurrence *ends* first in the whole
// text (ties: the longer one, which starts earlier), i.e. the one a
// streaming server sees first. The result is independent of how the text is
// cut into pieces: concatenating every returned text gives the whole text
// cut before that occurrence (or the whole text when no stop occurs).
//
// One matcher per choice. Not thread-safe (one stream drives it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pdserve::router {

class StopMatcher {
 public:
  // Empty stop strings are ignored. No stops: feed() passes text through
  // (holding back only an incomplete trailing UTF-8 sequence).
  explicit StopMatcher(std::vector<std::string> stops);

  struct Output {
    std::string text;      // safe to show now
    bool stopped = false;  // a stop string completed: `text` is all that is left to show
    int stop_idx = -1;     // index into the constructor's stops when stopped
  };

  // After a stop, returns an empty Output with stopped = true.
  Output feed(std::string_view piece);

  // The held-back text (empty after a stop). Further feeds keep working.
  std::string finish();

  bool stopped() const { return stopped_; }
  const std::string& stop_string() const;  // the matched stop; "" when not stopped

 private:
  // Bytes at the end of held_ that must wait for the next piece.
  size_t hold_len() const;

  std::vector<std::string> stops_;
  size_t max_stop_len_ = 0;
  std::string held_;
  bool stopped_ = false;
  int stop_idx_ = -1;
};

}  // namespace pdserve::router
