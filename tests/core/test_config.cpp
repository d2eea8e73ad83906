// Config: _base_ merging, --set overrides, strict keys and typed reads.
#include <gtest/gtest.h>

#include <fstream>

#include "core/config.h"
#include "core/error.h"
#include "test_util.h"
namespace seer_test_test_config {

using namespace seer;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Expect a ConfigError whose message contains every fragment.
template <class F>
void expect_config_error(F&& f, std::vector<std::string> fragments) {
  try {
    f();
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << msg << " lacks " << frag;
  }
}

}  // namespace

TEST(Config, BasesMergeInOrderMapsDeepListsReplace) {
  std::string dir = test::temp_dir("cfg_merge");
  write(dir + "/a.yaml", "x: {p: 1, q: [1, 2, 3], r: {s: a}}\ny: 1\n");
  write(dir + "/b.yaml", "_base_: a.yaml\nx: {q: [9], r: {t: b}}\n");
  write(dir + "/c.yaml", "_base_: [b.yaml]\nx: {p: 5}\nz: hello\n");
  Config c = Config::load(dir + "/c.yaml");
  auto x = c.section("x");
  EXPECT_EQ(x.get<int64_t>("p", 0, ""), 5);
  EXPECT_EQ(x.get<std::vector<int64_t>>("q", {}, ""), std::vector<int64_t>({9}));
  EXPECT_EQ(x.sub("r").get<std::string>("s", "", ""), "a");
  EXPECT_EQ(x.sub("r").get<std::string>("t", "", ""), "b");
  EXPECT_EQ(c.root().get<int64_t>("y", 0, ""), 1);
  EXPECT_EQ(c.root().get<std::string>("z", "", ""), "hello");
  EXPECT_EQ(c.origin("x.p"), dir + "/c.yaml");
}

TEST(Config, BasesResolveRelativeToTheirOwnFile) {
  std::string dir = test::temp_dir("cfg_rel");
  std::filesystem::create_directories(dir + "/base/inner");
  write(dir + "/base/inner/leaf.yaml", "v: 3\n");
  write(dir + "/base/mid.yaml", "_base_: [inner/leaf.yaml]\nw: 4\n");
  write(dir + "/top.yaml", "_base_: [base/mid.yaml]\n");
  Config c = Config::load(dir + "/top.yaml");
  EXPECT_EQ(c.root().get<int64_t>("v", 0, ""), 3);
  EXPECT_EQ(c.root().get<int64_t>("w", 0, ""), 4);
}

TEST(Config, DeleteReplacesInsteadOfMerging) {
  std::string dir = test::temp_dir("cfg_del");
  write(dir + "/a.yaml", "m: {a: 1, b: 2}\n");
  write(dir + "/b.yaml", "_base_: a.yaml\nm: {_delete_: true, c: 3}\n");
  Config c = Config::load(dir + "/b.yaml");
  EXPECT_FALSE(c.section("m").has("a"));
  EXPECT_EQ(c.section("m").get<int64_t>("c", 0, ""), 3);
}

TEST(Config, BaseCycleIsAnError) {
  std::string dir = test::temp_dir("cfg_cycle");
  write(dir + "/a.yaml", "_base_: b.yaml\n");
  write(dir + "/b.yaml", "_base_: a.yaml\n");
  expect_config_error([&] { Config::load(dir + "/a.yaml"); }, {"cycle", "a.yaml", "b.yaml"});
}

TEST(Config, MissingFilesAndBadYamlAreErrors) {
  std::string dir = test::temp_dir("cfg_missing");
  expect_config_error([&] { Config::load(dir + "/nope.yaml"); }, {"nope.yaml", "not found"});
  write(dir + "/a.yaml", "_base_: [missing.yaml]\n");
  expect_config_error([&] { Config::load(dir + "/a.yaml"); }, {"a.yaml", "missing.yaml", "not found"});
  write(dir + "/bad.yaml", "a: [1, 2\nb: 3\n");
  expect_config_error([&] { Config::load(dir + "/bad.yaml"); }, {"bad.yaml", "YAML syntax error"});
  write(dir + "/list.yaml", "- 1\n- 2\n");
  expect_config_error([&] { Config::load(dir + "/list.yaml"); }, {"list.yaml", "map"});
}

TEST(Config, OverridesAreYamlTyped) {
  Config c = Config::from_string("a: {b: 1, l: [{p: 1}, {p: 2}]}\n", "t.yaml",
                                 {"a.b=2.5", "a.flag=true", "a.list=[1, 2, 3]", "a.none=null", "new.deep.key=x",
                                  "a.l.1.p=7", "a.l[0].p=8"});
  auto a = c.section("a");
  EXPECT_DOUBLE_EQ(a.get<double>("b", 0, ""), 2.5);
  EXPECT_TRUE(a.get<bool>("flag", false, ""));
  EXPECT_EQ(a.get<std::vector<int64_t>>("list", {}, ""), std::vector<int64_t>({1, 2, 3}));
  EXPECT_FALSE(a.has("none"));
  EXPECT_EQ(c.section("new.deep").get<std::string>("key", "", ""), "x");
  EXPECT_EQ(a.item("l", 1).get<int64_t>("p", 0, ""), 7);
  EXPECT_EQ(a.item("l", 0).get<int64_t>("p", 0, ""), 8);
  EXPECT_EQ(c.origin("a.b"), "--set");
}

TEST(Config, BadOverrides) {
  expect_config_error([] { Config::from_string("a: 1\n", "t.yaml", {"a.b"}); }, {"key=value"});
  expect_config_error([] { Config::from_string("a: 1\n", "t.yaml", {"a.b=1"}); }, {"a.b", "not a map"});
  expect_config_error([] { Config::from_string("l: [{p: 1}]\n", "t.yaml", {"l.3.p=1"}); }, {"list item"});
}

TEST(Config, TypedReadsRejectWrongTypes) {
  Config c = Config::from_string("n: abc\nf: 1.5\nl: [1, x]\nb: maybe\n", "types.yaml");
  auto r = c.root();
  expect_config_error([&] { r.get<int64_t>("n", 0, ""); }, {"types.yaml", "n", "expects int", "'abc'"});
  expect_config_error([&] { r.get<int64_t>("f", 0, ""); }, {"expects int", "'1.5'"});
  EXPECT_DOUBLE_EQ(r.get<double>("f", 0, ""), 1.5);
  expect_config_error([&] { r.get<std::vector<int64_t>>("l", {}, ""); }, {"list<int>"});
  expect_config_error([&] { r.get<bool>("b", false, ""); }, {"expects bool"});
  expect_config_error([&] { r.require<std::string>("missing", "what it is"); }, {"missing", "required"});
}

TEST(Config, DefaultsAreWrittenIntoTheResolvedTree) {
  Config c = Config::from_string("data: {batch_size: 4}\n", "t.yaml");
  auto d = c.section("data");
  EXPECT_EQ(d.get<int64_t>("batch_size", 2, "per process"), 4);
  EXPECT_EQ(d.get<int64_t>("num_workers", 2, "threads"), 2);
  EXPECT_FALSE(d.optional<int64_t>("max", "cap").has_value());
  std::string y = c.to_yaml();
  EXPECT_NE(y.find("num_workers: 2"), std::string::npos) << y;
  EXPECT_NE(y.find("batch_size: 4"), std::string::npos) << y;
  // re-reading the dump gives the same values
  Config again = Config::from_string(y, "dump.yaml");
  EXPECT_EQ(again.section("data").get<int64_t>("num_workers", 0, ""), 2);
}

TEST(Config, UnknownKeysNameFileKeyAndNearestKey) {
  std::string dir = test::temp_dir("cfg_strict");
  write(dir + "/base.yaml", "data: {batch_size: 2, num_wrokers: 3}\n");
  write(dir + "/top.yaml", "_base_: base.yaml\nruntime: {seed: 1}\n");
  Config c = Config::load(dir + "/top.yaml");
  c.section("data").get<int64_t>("batch_size", 2, "");
  c.section("data").get<int64_t>("num_workers", 2, "");
  c.section("runtime").get<int64_t>("seed", 0, "");
  // the misspelt key was set in base.yaml, and the message says so
  expect_config_error([&] { c.check_unknown_keys(); },
                      {"base.yaml", "unknown config key 'data.num_wrokers'", "did you mean 'data.num_workers'"});
}

TEST(Config, UnknownTopLevelSectionAndListItems) {
  Config c = Config::from_string("modle: {x: 1}\nt: [{type: a, pp: 1}]\n", "x.yaml");
  c.root().sub("model").get<int64_t>("x", 0, "");
  size_t n = c.root().list_size("t", "");
  ASSERT_EQ(n, 1u);
  c.root().item("t", 0).get<std::string>("type", "", "");
  c.root().item("t", 0).get<double>("p", 0.5, "");
  try {
    c.check_unknown_keys();
    FAIL();
  } catch (const ConfigError& e) {
    std::string m = e.what();
    // either error may come first; both must be reported precisely when alone
    EXPECT_TRUE(m.find("'modle'") != std::string::npos || m.find("'t[0].pp'") != std::string::npos) << m;
  }
  Config c2 = Config::from_string("t: [{type: a, pp: 1}]\n", "x.yaml");
  c2.root().list_size("t", "");
  c2.root().item("t", 0).get<std::string>("type", "", "");
  c2.root().item("t", 0).get<double>("p", 0.5, "");
  expect_config_error([&] { c2.check_unknown_keys(); }, {"x.yaml", "'t[0].pp'", "did you mean 't[].p'"});
}

TEST(Config, DeclaredKeysCarryTypeDefaultAndDoc) {
  Config c = Config::from_string("{}\n", "t.yaml");
  c.section("data").get<int64_t>("batch_size", 2, "images per process");
  auto keys = c.declared();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].path, "data.batch_size");
  EXPECT_EQ(keys[0].type, "int");
  EXPECT_EQ(keys[0].default_repr, "2");
  EXPECT_EQ(keys[0].doc, "images per process");
}

TEST(Config, Nearest) {
  EXPECT_EQ(nearest("batch_sise", {"batch_size", "num_workers"}), "batch_size");
  EXPECT_EQ(nearest("zzzzzz", {"batch_size", "num_workers"}), "");
  EXPECT_EQ(edit_distance("abc", "acb"), 1u);
}

TEST(Config, FloatDefaultsPrintShortest) {
  Config c = Config::from_string("{}\n", "t.yaml");
  c.root().get<double>("thr", 0.3, "");
  c.root().get<std::vector<double>>("mean", {0.485, 0.456}, "");
  std::string y = c.to_yaml();
  EXPECT_NE(y.find("thr: 0.3\n"), std::string::npos) << y;
  EXPECT_NE(y.find("0.485"), std::string::npos) << y;
  EXPECT_EQ(y.find("0.48499"), std::string::npos) << y;
  EXPECT_DOUBLE_EQ(Config::from_string(y, "d.yaml").root().get<double>("thr", 0, ""), 0.3);
}

}  // namespace seer_test_test_config
