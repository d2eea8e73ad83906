// The safe pickle reader, on pickles CPython wrote (scripts/fixtures/make_pickle_fixtures.py).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/pickle.h"
#include "test_util.h"

namespace seer {
namespace seer_test_test_pickle {
namespace {

using pickle::PyRef;
using pickle::PyValue;
using Kind = PyValue::Kind;

std::string fixture(const std::string& name) { return test::fixture("pickle/" + name); }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string error_of(const std::string& bytes) {
  try {
    pickle::loads(bytes, {nullptr, "mem"});
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

class BasicPickle : public ::testing::TestWithParam<int> {};

TEST_P(BasicPickle, BuiltinTypesRoundTrip) {
  PyRef d = pickle::load_file(fixture("basic_p" + std::to_string(GetParam()) + ".pkl"));
  ASSERT_TRUE(d->is_dict());
  EXPECT_EQ(d->size(), 28u);
  EXPECT_TRUE(d->at("none")->is_none());
  EXPECT_TRUE(d->at("t")->as_bool());
  EXPECT_FALSE(d->at("f")->as_bool());
  EXPECT_EQ(d->at("small")->as_int(), 7);
  EXPECT_EQ(d->at("byte")->as_int(), 200);
  EXPECT_EQ(d->at("short")->as_int(), 60000);
  EXPECT_EQ(d->at("neg")->as_int(), -300);
  EXPECT_EQ(d->at("big")->as_int(), int64_t{1} << 40);
  EXPECT_EQ(d->at("min64")->as_int(), INT64_MIN);
  // 2**100 and -2**70 do not fit int64: kept as raw two's complement bytes.
  ASSERT_EQ(d->at("huge")->kind, Kind::BigInt);
  EXPECT_EQ(d->at("huge")->str, std::string(12, '\0') + std::string("\x10", 1));
  ASSERT_EQ(d->at("negbig")->kind, Kind::BigInt);
  EXPECT_EQ(d->at("negbig")->str, std::string(8, '\0') + std::string("\xc0", 1));
  EXPECT_DOUBLE_EQ(d->at("float")->as_float(), 1.5);
  EXPECT_DOUBLE_EQ(d->at("neg_float")->as_float(), -0.25);
  EXPECT_EQ(d->at("str")->as_str(), "h\xc3\xa9llo \xe2\x9c\x93");
  EXPECT_EQ(d->at("escapes")->as_str(), "a\nb\\c'd\"");
  EXPECT_EQ(d->at("bytes")->as_bytes(), std::string("\x00\xff" "ab", 4));
  EXPECT_EQ(d->at("empty_bytes")->as_bytes(), "");
  const auto& l = d->at("list")->as_items();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0]->as_int(), 1);
  EXPECT_EQ(l[1]->as_str(), "two");
  EXPECT_EQ(l[2]->kind, Kind::Float);
  for (int n = 0; n <= 4; ++n) {
    PyRef t = d->at("tuple" + std::to_string(n));
    ASSERT_TRUE(t->is_tuple()) << n;
    ASSERT_EQ(t->size(), static_cast<size_t>(n));
    for (int k = 0; k < n; ++k) EXPECT_EQ(t->items[k]->as_int(), k + 1);
  }
  ASSERT_EQ(d->at("set")->kind, Kind::Set);
  EXPECT_EQ(d->at("set")->as_items().at(0)->as_int(), 3);
  ASSERT_EQ(d->at("frozenset")->kind, Kind::Set);
  EXPECT_EQ(d->at("frozenset")->type_name(), "frozenset");
  EXPECT_EQ(d->at("frozenset")->as_items().at(0)->as_int(), 5);
  // nested: {"a": [{"b": (1, [2, {"c": None}])}]}
  PyRef b = d->at("nested")->at("a")->as_items().at(0)->at("b");
  EXPECT_EQ(b->as_items().at(0)->as_int(), 1);
  EXPECT_TRUE(b->as_items().at(1)->as_items().at(1)->at("c")->is_none());
  // the memo makes both entries one object, as in Python
  const auto& shared = d->at("shared")->as_items();
  EXPECT_EQ(shared.at(0).get(), shared.at(1).get());
  EXPECT_EQ(d->at("int_keys")->get(-2)->as_str(), "minus two");
  EXPECT_EQ(d->at("int_keys")->get(1)->as_str(), "one");
  // insertion order is kept
  EXPECT_EQ(d->entries.front().first->as_str(), "none");
  EXPECT_EQ(d->entries.back().first->as_str(), "int_keys");
}

INSTANTIATE_TEST_SUITE_P(Protocols, BasicPickle, ::testing::Values(0, 1, 2, 3, 4, 5));

class ProtocolPickle : public ::testing::TestWithParam<int> {};

TEST_P(ProtocolPickle, OrderedDictBehavesLikeADictAndKeepsItsState) {
  PyRef d = pickle::load_file(fixture("ordered_p" + std::to_string(GetParam()) + ".pkl"));
  ASSERT_TRUE(d->is_dict());
  EXPECT_EQ(d->type_name(), "collections.OrderedDict");
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ(d->entries[0].first->as_str(), "z");
  EXPECT_EQ(d->entries[1].first->as_str(), "a");
  EXPECT_EQ(d->entries[2].first->as_str(), "m");
  EXPECT_EQ(d->at("a")->as_int(), 2);
  ASSERT_TRUE(d->state);  // the instance __dict__ (torch keeps _metadata there)
  EXPECT_EQ(d->state->at("_metadata")->at("version")->as_int(), 1);
}

TEST_P(ProtocolPickle, GlobalsAreRecordedNotCalled) {
  PyRef ns = pickle::load_file(fixture("namespace_p" + std::to_string(GetParam()) + ".pkl"));
  ASSERT_TRUE(ns->is_object());
  EXPECT_EQ(ns->name, "argparse.Namespace");
  ASSERT_TRUE(ns->state && ns->state->is_dict());
  EXPECT_DOUBLE_EQ(ns->state->at("lr")->as_float(), 0.1);
  EXPECT_EQ(ns->state->at("name")->as_str(), "detr");
  EXPECT_EQ(ns->state->at("layers")->as_items().at(1)->as_int(), 2);
}

TEST_P(ProtocolPickle, PersistentIdsGoThroughTheHook) {
  int proto = GetParam();
  std::vector<PyRef> seen;
  pickle::UnpicklerOptions opt;
  opt.persistent_load = [&](const PyRef& pid) {
    seen.push_back(pid);
    auto o = PyValue::string("resolved" + std::to_string(seen.size()));
    return o;
  };
  PyRef d = pickle::load_file(fixture("persistent_p" + std::to_string(proto) + ".pkl"), opt);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(d->at("conv.weight")->as_str(), "resolved1");
  EXPECT_EQ(d->at("conv.bias")->as_str(), "resolved2");
  if (proto == 0) {
    EXPECT_EQ(seen[0]->as_str(), "storage_0");  // PERSID: a text id
  } else {
    // BINPERSID: ('storage', torch.FloatStorage, key, location, numel)
    const auto& t = seen[0]->as_items();
    ASSERT_EQ(t.size(), 5u);
    EXPECT_EQ(t[0]->as_str(), "storage");
    EXPECT_EQ(t[1]->kind, Kind::Global);
    EXPECT_EQ(t[1]->name, "torch.FloatStorage");
    EXPECT_EQ(t[2]->as_str(), "0");
    EXPECT_EQ(t[3]->as_str(), "cpu");
    EXPECT_EQ(t[4]->as_int(), 27);
    EXPECT_EQ(seen[1]->as_items()[4]->as_int(), 3);
  }
  // without a hook the id is kept in the tree
  PyRef raw = pickle::load_file(fixture("persistent_p" + std::to_string(proto) + ".pkl"));
  EXPECT_EQ(raw->at("conv.bias")->name, "__persistent_id__");
}

INSTANTIATE_TEST_SUITE_P(Protocols, ProtocolPickle, ::testing::Values(0, 2, 4, 5));

TEST(Pickle, ConsecutivePicklesShareOneBuffer) {
  std::string bytes = read_bytes(fixture("two_in_a_row_p2.pkl"));
  pickle::Unpickler u(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  PyRef first = u.load();
  EXPECT_EQ(first->kind, Kind::BigInt);  // torch's legacy magic number is wider than int64
  PyRef second = u.load();
  EXPECT_EQ(second->at("second")->as_items().at(1)->as_int(), 2);
  EXPECT_EQ(u.offset(), bytes.size());
}

TEST(Pickle, TruncatedFileNamesOpcodeAndOffset) {
  std::string path = fixture("truncated_p2.pkl");
  try {
    pickle::load_file(path);
    FAIL() << "no error";
  } catch (const RuntimeError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at byte"), std::string::npos) << msg;
  }
}

TEST(Pickle, MalformedInputIsAnErrorNotACrash) {
  // unknown opcode 0xff after PROTO 2
  std::string m = error_of(std::string("\x80\x02\xff.", 4));
  EXPECT_NE(m.find("0xff at byte 2"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown opcode"), std::string::npos) << m;
  // BINUNICODE promising more bytes than there are
  m = error_of(std::string("\x80\x02X\x10\x00\x00\x00ab", 9));
  EXPECT_NE(m.find("BINUNICODE (0x58) at byte 2"), std::string::npos) << m;
  // stack underflow
  m = error_of("a.");
  EXPECT_NE(m.find("APPEND"), std::string::npos) << m;
  EXPECT_NE(m.find("underflow"), std::string::npos) << m;
  // memo miss
  m = error_of(std::string("\x80\x02h\x05.", 5));
  EXPECT_NE(m.find("BINGET"), std::string::npos) << m;
  // protocol from the future
  m = error_of(std::string("\x80\x09N.", 4));
  EXPECT_NE(m.find("PROTO"), std::string::npos) << m;
  // no STOP
  m = error_of("N");
  EXPECT_NE(m.find("no STOP"), std::string::npos) << m;
  // REDUCE of something that is not a global
  m = error_of(std::string("K\x01)R.", 5));
  EXPECT_NE(m.find("REDUCE"), std::string::npos) << m;
  // empty input
  EXPECT_NE(error_of("").find("truncated"), std::string::npos);
}

TEST(Pickle, Python2Strings) {
  // STRING with escapes, as Python 2 protocol 0 wrote str
  PyRef s = pickle::loads("S'a\\nb\\x41\\'c'\np0\n.");
  EXPECT_EQ(s->as_str(), "a\nbA'c");
  // SHORT_BINSTRING holding Latin-1 bytes (not UTF-8) -> read as Latin-1
  s = pickle::loads(std::string("U\x02\xe9x.", 5));
  EXPECT_EQ(s->as_str(), "\xc3\xa9x");
  // INT 01 / 00 are booleans; L suffix of Python 2 longs
  EXPECT_EQ(pickle::loads("I01\n.")->kind, Kind::Bool);
  EXPECT_EQ(pickle::loads("L-12345678901234L\n.")->as_int(), -12345678901234LL);
}

TEST(Pickle, ReprIsPythonLike) {
  PyRef d = pickle::load_file(fixture("basic_p4.pkl"));
  EXPECT_EQ(d->at("tuple1")->repr(), "(1,)");
  EXPECT_EQ(d->at("list")->repr(), "[1, 'two', 3.0]");
  PyRef ns = pickle::load_file(fixture("namespace_p2.pkl"));
  EXPECT_EQ(ns->repr(), "argparse.Namespace() state={'lr': 0.1, 'name': 'detr', 'layers': [1, 2]}");
}

}  // namespace
}  // namespace seer_test_test_pickle
}  // namespace seer
