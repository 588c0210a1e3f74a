#include "common/base/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace pdserve {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return invalid_argument("x must be positive, got " + std::to_string(x));
  return x;
}

Result<int> doubled(int x) {
  PD_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return 2 * v;
}

Status check_both(int a, int b) {
  PD_RETURN_IF_ERROR(parse_positive(a).status());
  PD_RETURN_IF_ERROR(parse_positive(b).status());
  return ok_status();
}

TEST(StatusTest, OkAndErrorsFormat) {
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().to_string(), "OK");
  Status s = not_found("tensor model.norm.weight");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.to_string(), "NOT_FOUND: tensor model.norm.weight");
  EXPECT_EQ(s.with_context("model.safetensors").message(),
            "model.safetensors: tensor model.norm.weight");
}

TEST(StatusTest, ResultCarriesValueOrStatus) {
  EXPECT_EQ(*doubled(4), 8);
  Result<int> bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "x must be positive, got -1");
  EXPECT_TRUE(check_both(1, 2).ok());
  EXPECT_EQ(check_both(1, 0).message(), "x must be positive, got 0");
}

TEST(StatusTest, ResultFromOkStatusIsAnInternalError) {
  Result<int> r = Status();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(StatusTest, ResultHoldsMoveOnlyTypes) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(StatusDeathTest, ValueOfErrorAborts) {
  Result<int> r = not_found("x");
  EXPECT_DEATH((void)r.value(), "NOT_FOUND: x");
}

}  // namespace
}  // namespace pdserve
