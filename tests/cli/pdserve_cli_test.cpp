// The pdserve binary from the outside: one-line errors for bad input, and a
// greedy generation on the demo model.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/cli/cli_run.h"

namespace pdserve {
namespace {

using cli_test::CliRun;

CliRun run(const std::string& args) {
  return cli_test::run_pdserve(args);
}

const std::string kDemo = std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The line of generated token ids in a `generate --prompt-ids` output.
std::string ids_line(const std::string& output) {
  size_t start = 0;
  while (start < output.size()) {
    const size_t end = std::min(output.find('\n', start), output.size());
    const std::string line = output.substr(start, end - start);
    if (!line.empty() && line.find_first_not_of("0123456789 ") == std::string::npos) return line;
    start = end + 1;
  }
  return "";
}

TEST(PdserveCliTest, GeneratesGreedilyOnTheDemoModel) {
  CliRun r = run("generate --model " + kDemo +
                 " --prompt-ids 2386,263,2171 --max-tokens 8 --temperature 0");
  EXPECT_EQ(r.status, 0) << r.output;
  // The HF fixture's greedy continuation of "In the beginning" starts so.
  EXPECT_NE(r.output.find("273 263 1246 273 3964 427 273 759\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("prompt tokens: 3, generated tokens: 8 (finish: length)"),
            std::string::npos)
      << r.output;
}

// --swap-space gives swap preemption its host tier.
TEST(PdserveCliTest, SwapPreemptionRunsWithSwapSpace) {
  CliRun r =
      run("generate --model " + kDemo +
          " --prompt-ids 2386,263,2171 --max-tokens 8 --temperature 0 --preemption-mode swap "
          "--swap-space 0.01");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("generated tokens: 8 (finish: length)"), std::string::npos) << r.output;
}

TEST(PdserveCliTest, SpeculativeDecodingGivesTheSameGreedyTokens) {
  const std::string args =
      "generate --model " + kDemo + " --prompt-ids 2386,263,2171 --max-tokens 24 --temperature 0";
  const CliRun plain = run(args);
  ASSERT_EQ(plain.status, 0) << plain.output;
  const std::string ids = ids_line(plain.output);
  ASSERT_FALSE(ids.empty()) << plain.output;
  for (const std::string& spec :
       {std::string(R"({"method":"ngram","num_speculative_tokens":3,"prompt_lookup_min":1})"),
        R"({"method":"draft_model","model":")" + std::string(PDSERVE_SOURCE_DIR) +
            R"(/models/pdserve-demo-draft","num_speculative_tokens":4})"}) {
    const CliRun r = run(args + " --speculative-config '" + spec + "'");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(ids_line(r.output), ids) << spec;
    EXPECT_NE(r.output.find("speculative decoding: "), std::string::npos) << r.output;
  }
}

TEST(PdserveCliTest, TextPromptsAndChatMessages) {
  CliRun r = run("generate --model " + kDemo +
                 " --prompt 'In the beginning' --max-tokens 8 --temperature 0");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(" of the reign of Jehoiakim king of Judah"), std::string::npos)
      << r.output;
  r = run("generate --model " + kDemo +
          " --chat 'Recite Genesis 1:1.' --max-tokens 40 --temperature 0");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("In the beginning God created the heaven and the earth."),
            std::string::npos)
      << r.output;
}

TEST(PdserveCliTest, BenchEngineTimesEachDecodePoint) {
  const std::string json = ::testing::TempDir() + "/bench_engine.json";
  CliRun r =
      run("bench engine --model " + kDemo +
          " --device cpu --decode 1x8 3x20 --decode-steps 2 --prefill-len 8 --output-json " + json);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("decode batch 1 at 8 (per step)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("decode batch 3 at 20 (per step)"), std::string::npos) << r.output;
  const std::string text = read_text(json);
  EXPECT_NE(text.find("\"name\": \"decode batch 3 at 20 (per step)\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"model\": \"pdserve-demo\""), std::string::npos) << text;
  // The CPU has no CUDA graphs: the bench says so, and its JSON.
  EXPECT_NE(r.output.find("decode steps ran eagerly (no CUDA graphs)"), std::string::npos)
      << r.output;
  EXPECT_NE(text.find("\"cuda_graphs\": false"), std::string::npos) << text;
}

// --prefill-chunk times the prompt chunk by chunk over its growing context.
TEST(PdserveCliTest, BenchEngineTimesEachPrefillChunk) {
  CliRun r = run("bench engine --model " + kDemo +
                 " --device cpu --decode 1x8 --decode-steps 1 --prefill-len 20 --prefill-chunk 8");
  EXPECT_EQ(r.status, 0) << r.output;
  for (const char* chunk :
       {"prefill chunk at 0 (+8)", "prefill chunk at 8 (+8)", "prefill chunk at 16 (+4)"})
    EXPECT_NE(r.output.find(chunk), std::string::npos) << chunk << "\n" << r.output;
  EXPECT_EQ(r.output.find("prefill chunk at 24"), std::string::npos) << r.output;
}

// --verify-k: at each decode point a verification step of k proposals per
// sequence, timed against the decode step at that point.
TEST(PdserveCliTest, BenchEngineTimesVerificationStepsAgainstTheDecodeStep) {
  const std::string json = ::testing::TempDir() + "/bench_engine_verify.json";
  CliRun r = run("bench engine --model " + kDemo +
                 " --device cpu --decode 2x8 --decode-steps 2 --prefill-len 8 --verify-k 1 4 "
                 "--output-json " +
                 json);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("verify k=1, batch 2 at 8 (per step): "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("verify k=4, batch 2 at 8 (per step): "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("x the decode step"), std::string::npos) << r.output;
  const std::string text = read_text(json);
  EXPECT_NE(text.find("\"name\": \"verify k=4, batch 2 at 8 (per step)\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("\"vs_decode\": "), std::string::npos) << text;

  r = run("bench engine --model " + kDemo + " --device cpu --decode 1x8 --verify-k 17");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("--verify-k"), std::string::npos) << r.output;
}

// Mixed lengths through the engine; on the CPU there are no measured peaks,
// so the floor is said to be unknown and the JSON has no ratio.
TEST(PdserveCliTest, BenchOfflineRunsMixedLengthsAndSaysWhenTheFloorIsUnknown) {
  const std::string json = ::testing::TempDir() + "/bench_offline.json";
  CliRun r = run("bench offline --model " + kDemo +
                 " --device cpu --num-prompts 6 --input-len 12 --output-len 6 --range-ratio 0.5 "
                 "--output-json " +
                 json);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("floor:               unknown"), std::string::npos) << r.output;
  const std::string text = read_text(json);
  EXPECT_NE(text.find("\"model\": \"pdserve-demo\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"output_tokens\":"), std::string::npos) << text;
  EXPECT_EQ(text.find("of_floor"), std::string::npos) << text;
}

// --prompt-ids: every request starts from the given tokens; an id outside
// the vocabulary is refused in one line.
TEST(PdserveCliTest, BenchOfflineTakesOnePromptForEveryRequest) {
  CliRun r = run("bench offline --model " + kDemo +
                 " --device cpu --num-prompts 3 --output-len 4 --prompt-ids 0,1017,290,263");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("prompt tokens:       12\n"), std::string::npos) << r.output;
  r = run("bench offline --model " + kDemo + " --device cpu --num-prompts 1 --prompt-ids 5,999999");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("pdserve bench offline: --prompt-ids: token id 999999 outside the "
                          "vocabulary of "),
            std::string::npos)
      << r.output;
}

TEST(PdserveCliTest, BenchEngineDecodesUnderAJsonSchema) {
  const std::string schema = ::testing::TempDir() + "/bench_schema.json";
  std::ofstream(schema) << R"({"type":"array","items":{"type":"integer"}})";
  const std::string json = ::testing::TempDir() + "/bench_engine_schema.json";
  CliRun r = run("bench engine --model " + kDemo +
                 " --device cpu --decode 2x8 --decode-steps 4 --prefill-len 8 --json-schema " +
                 schema + " --output-json " + json);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("decode batch 2 at 8 (per step)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("every sequence decoded under " + schema), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("decode batch 2 at 8 (per step): "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" ms of CPU time"), std::string::npos) << r.output;
  const std::string text = read_text(json);
  EXPECT_NE(text.find("\"json_schema\": \"" + schema + "\""), std::string::npos) << text;

  const std::string bad = ::testing::TempDir() + "/bench_bad_schema.json";
  std::ofstream(bad) << R"({"type":"object","patternProperties":{}})";
  CliRun refused = run("bench engine --model " + kDemo + " --device cpu --json-schema " + bad);
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("--json-schema " + bad +
                                ": json schema: keyword "
                                "'patternProperties' is not supported"),
            std::string::npos)
      << refused.output;
  CliRun missing =
      run("bench engine --model " + kDemo + " --device cpu --json-schema /nonexistent.json");
  EXPECT_NE(missing.output.find("--json-schema /nonexistent.json: cannot read it"),
            std::string::npos)
      << missing.output;
}

// --enforce-eager (vLLM's flag) is accepted and changes no token.
TEST(PdserveCliTest, EnforceEagerGivesTheSameGreedyTokens) {
  const std::string args =
      "generate --model " + kDemo + " --prompt-ids 2386,263,2171 --max-tokens 12 --temperature 0";
  const CliRun plain = run(args), eager = run(args + " --enforce-eager");
  ASSERT_EQ(plain.status, 0) << plain.output;
  ASSERT_EQ(eager.status, 0) << eager.output;
  EXPECT_FALSE(ids_line(plain.output).empty()) << plain.output;
  EXPECT_EQ(ids_line(eager.output), ids_line(plain.output));
}

TEST(PdserveCliTest, BadInputGetsOneLineNamingTheProblem) {
  const std::vector<cli_test::CliCase> cases = {
      {"generate --model /nonexistent --prompt-ids 1",
       "--model: Directory does not exist: /nonexistent"},
      {"generate --model " + kDemo + " --prompt-ids 1 --temperature abc", "--temperature"},
      {"generate --model " + kDemo + " --prompt-ids 99999",
       "token id 99999 outside the vocabulary of 4096"},
      {"generate --model " + kDemo + " --prompt-ids 1 --max-tokens 5000",
       "exceeds max_model_len 1024"},
      {"generate --model " + kDemo + " --prompt-ids 1 --min-tokens 9 --max-tokens 2",
       "--min-tokens 9 exceeds --max-tokens 2"},
      {"generate --model " + kDemo, "give a prompt"},
      {"generate --model " + kDemo + " --prompt x --prompt-ids 1",
       "give one of --prompt, --chat and --prompt-ids"},
      {"generate --model " + kDemo + " --system x --prompt y", "--system requires --chat"},
      {"generate --model " + std::string(PDSERVE_SOURCE_DIR) + "/tests --prompt-ids 1",
       "config.json"},
      {"bench engine --model " + kDemo + " --decode 4y16", "--decode 4y16: expected BATCHxCONTEXT"},
      {"bench engine --model " + kDemo + " --decode 0x16", "--decode 0x16: expected BATCHxCONTEXT"},
      {"frobnicate", "A subcommand is required"},
      // Removed (it bounded nothing): an unknown option now.
      {"decode --model " + kDemo + " --max-prefill-queue 3", "--max-prefill-queue"},
      {"generate --model " + kDemo + " --prompt-ids 1 --preemption-mode swap",
       "preemption mode swap needs a host KV tier"},
      {"generate --model " + kDemo + " --prompt-ids 1 --swap-space -1", "--swap-space"},
      {"generate --model " + kDemo +
           " --prompt-ids 1 --speculative-config '{\"method\":\"eagle\"}'",
       "--speculative-config: \"method\" must be \"ngram\" or \"draft_model\", not \"eagle\""},
      {"generate --model " + kDemo +
           " --prompt-ids 1 --speculative-config "
           "'{\"method\":\"draft_model\",\"model\":\"/nonexistent\"}'",
       "draft model folder /nonexistent does not exist"},
      {"generate --model " + kDemo +
           " --prompt-ids 1 --speculative-config '{\"method\":\"draft_model\",\"model\":\"" +
           std::string(PDSERVE_SOURCE_DIR) + "/tests\"}'",
       "--speculative-config: draft model"},
      {"generate --model " + kDemo +
           " --prompt-ids 1 --async-scheduling --speculative-config '{\"method\":\"ngram\"}'",
       "speculative decoding needs synchronous scheduling"},
      {"bench offline --model " + kDemo +
           " --speculative-config '{\"method\":\"ngram\",\"num_speculative_tokens\":0}'",
       "num_speculative_tokens must be an integer in [1, 16], not 0"},
      {"serve --model " + kDemo + " --speculative-config nope",
       "--speculative-config: not a JSON object"},
      {"router --model " + kDemo + " --chat-template-content-format parts",
       "--chat-template-content-format: parts not in {auto,string,openai}"},
      {"serve --model " + kDemo + " --chat-template-content-format STRING",
       "--chat-template-content-format: STRING not in {auto,string,openai}"},
  };
  cli_test::expect_one_line_errors("", cases);
}

}  // namespace
}  // namespace pdserve
