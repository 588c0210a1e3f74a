// read_text_file: the small files a checkpoint or a tokenizer folder holds
// are read only when they are regular files within the limit.
#include "common/base/text_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace pdserve {
namespace {

namespace fs = std::filesystem;

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
}

TEST(TextFileTest, ReadsARegularFileWithinTheLimit) {
  const fs::path p = temp_path("text_file_ok");
  std::ofstream(p) << "{\"a\": 1}";
  auto text = read_text_file(p, 64, "config.json");
  fs::remove(p);
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  EXPECT_EQ(*text, "{\"a\": 1}");
}

TEST(TextFileTest, RefusesAFileOverTheLimit) {
  const fs::path p = temp_path("text_file_big");
  std::ofstream(p) << std::string(100, 'x');
  auto text = read_text_file(p, 99, "config.json");
  fs::remove(p);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().message(), "config.json: 100 bytes, larger than the limit of 99");
}

TEST(TextFileTest, MissingIsNotFound) {
  auto text = read_text_file("/nonexistent/config.json", 64, "config.json");
  EXPECT_EQ(text.status().code(), StatusCode::kNotFound);
}

TEST(TextFileTest, DevicesDirectoriesAndFifosAreRefusedUnread) {
  const auto start = std::chrono::steady_clock::now();
  for (const char* special : {"/dev/zero", "/dev/urandom", "/"}) {
    auto text = read_text_file(special, 1 << 20, "tokenizer.json");
    ASSERT_FALSE(text.ok()) << special;
    EXPECT_EQ(text.status().message(), "tokenizer.json: not a regular file") << special;
  }
  const fs::path fifo = temp_path("text_file_fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto text = read_text_file(fifo, 1 << 20, "tokenizer.json");  // no writer: must not block
  fs::remove(fifo);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().message(), "tokenizer.json: not a regular file");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace pdserve
