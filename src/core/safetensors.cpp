// The safetensors format: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian data; offsets are relative to the end of the header.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
#include "core/error.h"

namespace seer {

namespace {

using ojson = nlohmann::ordered_json;

constexpr uint64_t kMaxHeader = 100u << 20;  // the reference implementation's limit

const std::pair<const char*, c10::ScalarType> kDtypes[] = {
    {"F64", c10::kDouble}, {"F32", c10::kFloat}, {"F16", c10::kHalf},  {"BF16", c10::kBFloat16},
    {"I64", c10::kLong},   {"I32", c10::kInt},   {"I16", c10::kShort}, {"I8", c10::kChar},
    {"U8", c10::kByte},    {"BOOL", c10::kBool},
};

bool dtype_from_name(const std::string& s, c10::ScalarType& out) {
  for (const auto& [name, t] : kDtypes)
    if (s == name) {
      out = t;
      return true;
    }
  return false;
}

std::string first_line_of(const std::string& s) { return s.substr(0, s.find('\n')); }

const char* dtype_name(c10::ScalarType t) {
  for (const auto& [name, dt] : kDtypes)
    if (dt == t) return name;
  return nullptr;
}

}  // namespace

namespace detail {

WeightsFile read_safetensors(const std::string& path) {
  auto bad = [&](const std::string& what) { return DataError("safetensors file '" + path + "': " + what); };
  std::ifstream in(path, std::ios::binary);
  if (!in) throw bad("cannot open");
  std::error_code ec;
  uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) throw bad("cannot stat");
  uint8_t len_bytes[8];
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(len_bytes), 8)) throw bad("shorter than its 8-byte header length");
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | len_bytes[k];
  if (n > kMaxHeader) throw bad("header length " + std::to_string(n) + " is implausible");
  if (n > file_size - 8) throw bad("truncated header (" + std::to_string(n) + " bytes announced, " +
                                   std::to_string(file_size - 8) + " present)");
  std::string text(n, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(n))) throw bad("cannot read the header");
  ojson header;
  try {
    header = ojson::parse(text);
  } catch (const std::exception& e) {
    throw bad(std::string("header is not valid JSON (") + first_line_of(e.what()) + ")");
  }
  if (!header.is_object()) throw bad("header is not a JSON object");

  const uint64_t data_len = file_size - 8 - n;
  struct Entry {
    std::string name;
    c10::ScalarType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  WeightsFile out;
  out.format = "safetensors";
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const ojson& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw bad("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw bad("__metadata__ value of '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto fail = [&](const std::string& what) { return bad("tensor '" + name + "': " + what); };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw fail("needs dtype, shape and data_offsets");
    Entry e;
    e.name = name;
    if (!v["dtype"].is_string() || !dtype_from_name(v["dtype"].get<std::string>(), e.dtype))
      throw fail("unsupported dtype " + v["dtype"].dump());
    if (!v["shape"].is_array()) throw fail("shape is not a list");
    __int128 numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw fail("shape " + v["shape"].dump() + " is not a list of sizes");
      uint64_t s = d.get<uint64_t>();
      if (s > (uint64_t{1} << 62)) throw fail("size too large");
      e.shape.push_back(static_cast<int64_t>(s));
      numel *= s;
      if (numel > (__int128{1} << 62)) throw fail("too many elements");
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw fail("data_offsets is not [begin, end]");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_len)
      throw fail("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] outside the " +
                 std::to_string(data_len) + " data bytes (truncated file?)");
    if (static_cast<__int128>(e.end - e.begin) != numel * static_cast<__int128>(c10::elementSize(e.dtype)))
      throw fail("data_offsets span " + std::to_string(e.end - e.begin) + " bytes, shape and dtype need " +
                 std::to_string(static_cast<uint64_t>(numel * c10::elementSize(e.dtype))));
    entries.push_back(std::move(e));
  }
  // Data order; the buffers must tile the data section without gaps or overlaps.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  uint64_t expect = 0;
  for (const auto& e : entries) {
    if (e.begin != expect) throw bad("tensor '" + e.name + "' data does not follow the previous one (overlap or gap)");
    expect = e.end;
  }
  if (expect != data_len) throw bad("data section has " + std::to_string(data_len - expect) + " trailing bytes");

  for (const auto& e : entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype));
    if (e.end > e.begin) {
      in.seekg(static_cast<std::streamoff>(8 + n + e.begin));
      if (!in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.end - e.begin)))
        throw bad("cannot read the data of '" + e.name + "'");
    }
    out.tensors.insert(e.name, t);
  }
  return out;
}

}  // namespace detail

void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata) {
  ojson header = ojson::object();
  if (!metadata.empty()) {
    ojson m = ojson::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& item : tensors) {
    const torch::Tensor& t0 = item.value();
    if (!t0.defined()) throw RuntimeError("write safetensors '" + path + "': tensor '" + item.key() + "' is undefined");
    const char* dt = dtype_name(t0.scalar_type());
    if (!dt)
      throw RuntimeError("write safetensors '" + path + "': tensor '" + item.key() + "' has unsupported dtype " +
                         std::string(c10::toString(t0.scalar_type())));
    if (item.key() == "__metadata__") throw RuntimeError("write safetensors '" + path + "': reserved tensor name '__metadata__'");
    torch::Tensor t = t0.detach().to(torch::kCPU).contiguous();
    uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[item.key()] = {{"dtype", dt}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    data.push_back(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  detail::write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw RuntimeError("write safetensors '" + path + "': cannot create '" + tmp + "'");
    uint8_t len[8];
    uint64_t n = text.size();
    for (int k = 0; k < 8; ++k) len[k] = static_cast<uint8_t>(n >> (8 * k));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : data)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
    out.flush();
    if (!out) throw RuntimeError("write safetensors '" + path + "': write failed (disk full?)");
  });
}

}  // namespace seer
