#include "common/base/check_scope.h"

namespace pdserve {
namespace {

thread_local int recoverable_depth = 0;

}  // namespace

RecoverableChecks::RecoverableChecks() {
  ++recoverable_depth;
}
RecoverableChecks::~RecoverableChecks() {
  --recoverable_depth;
}

bool checks_recoverable() {
  return recoverable_depth > 0;
}

}  // namespace pdserve
