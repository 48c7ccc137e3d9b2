// The classic pcap fast path: the file is memory-mapped and walked record by record; each
// RawPacket points into the mapping, so a packet costs four 32-bit loads, two compares and a store
// — no copy, no allocation, no virtual call (the loop runs inside one read_batch call). Byte order
// is a template parameter so the loop has no per-field branch on it.
#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "capture/sources.hpp"

namespace picket::capture::detail {
namespace {

// Unchecked on purpose: every caller has already checked that the 4 bytes lie in the mapping.
template <bool kSwapped>
inline uint32_t load_u32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (kSwapped) v = __builtin_bswap32(v);
  return v;
}

template <bool kSwapped>
class ClassicPcapSource final : public PacketSource {
 public:
  ClassicPcapSource(MappedFile file, int link_type, uint32_t snaplen, uint32_t max_caplen, int64_t frac_to_ns,
                    std::optional<BpfFilter> filter) noexcept
      : file_(std::move(file)),
        filter_(std::move(filter)),
        link_type_(link_type),
        snaplen_(snaplen),
        max_caplen_(max_caplen),
        frac_to_ns_(frac_to_ns) {}

  int link_type() const noexcept override { return link_type_; }
  uint32_t snaplen() const noexcept override { return snaplen_; }
  const std::optional<core::Error>& error() const noexcept override { return error_; }
  uint64_t filtered_out() const noexcept override { return filtered_; }
  std::string_view name() const noexcept override { return file_.path(); }
  double progress() const noexcept override {
    return static_cast<double>(pos_) / static_cast<double>(file_.size());
  }

  size_t read_batch(std::span<core::RawPacket> out) noexcept override {
    if (done_) return 0;
    // The previous batch's pointers are dead now: let the pages behind us go (RSS stays flat).
    if (pos_ - released_ >= kReleaseStep) {
      file_.release_before(pos_);
      released_ = pos_;
    }
    const uint8_t* const base = file_.bytes().data();
    const size_t size = file_.size();
    size_t pos = pos_;
    size_t n = 0;
    while (n < out.size()) {
      const size_t left = size - pos;
      if (left < kRecordHeaderLen) [[unlikely]] {
        if (left != 0) fail_header(pos, left);
        done_ = true;  // clean end of file, or the error above
        break;
      }
      const uint8_t* rec = base + pos;
      const uint32_t cap = load_u32<kSwapped>(rec + 8);
      if (cap > max_caplen_) [[unlikely]] {
        fail_caplen(pos, cap);
        break;
      }
      if (left - kRecordHeaderLen < cap) [[unlikely]] {
        fail_data(pos, cap, left - kRecordHeaderLen);
        break;
      }
      core::RawPacket& p = out[n];
      p.ts.ns = static_cast<int64_t>(load_u32<kSwapped>(rec)) * 1'000'000'000 +
                static_cast<int64_t>(load_u32<kSwapped>(rec + 4)) * frac_to_ns_;
      p.data = rec + kRecordHeaderLen;
      p.cap_len = cap;
      // A wire length below the captured length is a writer bug; raising it keeps
      // "wire_len - cap_len" (bytes not captured) from wrapping downstream.
      p.wire_len = std::max(load_u32<kSwapped>(rec + 12), cap);
      p.ifindex = 0;
      pos += kRecordHeaderLen + cap;
      ++records_;
      if (filter_ && !filter_->matches(p)) {
        ++filtered_;
        continue;
      }
      ++n;
    }
    pos_ = pos;
    return n;
  }

 private:
  static constexpr size_t kReleaseStep = size_t{64} << 20;

  void fail_header(size_t pos, size_t left) noexcept {
    set_error(fmt::format("{}: truncated record header after {} packets ({} of {} bytes at offset {})", file_.path(),
                          records_, left, kRecordHeaderLen, pos));
  }
  void fail_caplen(size_t pos, uint32_t cap) noexcept {
    set_error(fmt::format("{}: corrupt record after {} packets: caplen {} exceeds the {} limit {} (offset {})",
                          file_.path(), records_, cap, max_caplen_ == snaplen_ ? "snaplen" : "maximum", max_caplen_,
                          pos));
  }
  void fail_data(size_t pos, uint32_t cap, size_t left) noexcept {
    set_error(fmt::format("{}: truncated record data after {} packets ({} of {} bytes at offset {})", file_.path(),
                          records_, left, cap, pos + kRecordHeaderLen));
  }
  // Formatting allocates; running out of memory here terminates, as it would anywhere in picket.
  void set_error(std::string message) noexcept {
    error_ = core::Error{std::move(message)};
    done_ = true;
  }

  MappedFile file_;
  std::optional<BpfFilter> filter_;
  std::optional<core::Error> error_;
  size_t pos_ = kFileHeaderLen;
  size_t released_ = 0;  // bytes before this were handed back with release_before
  uint64_t records_ = 0;  // complete records read, filtered or not: a position a person can check
  uint64_t filtered_ = 0;
  int link_type_;
  uint32_t snaplen_;
  uint32_t max_caplen_;
  int64_t frac_to_ns_;  // 1000 for microsecond files, 1 for nanosecond files
  bool done_ = false;
};

}  // namespace

core::Result<std::unique_ptr<PacketSource>> open_classic_pcap(MappedFile file, const std::string& bpf_filter) {
  const auto bytes = file.bytes();
  const std::string& path = file.path();
  if (bytes.size() < kFileHeaderLen) {
    return core::make_error(
        fmt::format("{}: truncated file header ({} of {} bytes)", path, bytes.size(), kFileHeaderLen));
  }
  uint32_t magic;
  std::memcpy(&magic, bytes.data(), sizeof magic);
  const bool swapped = magic != kMagicMicros && magic != kMagicNanos;
  if (swapped) magic = __builtin_bswap32(magic);
  if (magic != kMagicMicros && magic != kMagicNanos) {
    return core::make_error(fmt::format("{}: not a classic pcap file (magic {:#010x})", path, magic));
  }
  const auto load = [&](size_t off) {
    return swapped ? load_u32<true>(bytes.data() + off) : load_u32<false>(bytes.data() + off);
  };
  // The version is two 16-bit fields in the file's byte order.
  uint16_t ver[2];
  std::memcpy(ver, bytes.data() + 4, sizeof ver);
  if (swapped) {
    ver[0] = __builtin_bswap16(ver[0]);
    ver[1] = __builtin_bswap16(ver[1]);
  }
  if (ver[0] != 2) {
    return core::make_error(fmt::format("{}: unsupported pcap version {}.{}", path, ver[0], ver[1]));
  }
  const uint32_t snaplen = load(16);
  // The upper bits of the link-type field carry FCS information (LT_FCS_LENGTH), not the type.
  const int link_type = static_cast<int>(load(20) & 0x03FFFFFF);
  const uint32_t max_caplen = (snaplen == 0 || snaplen > kMaxSnaplen) ? kMaxSnaplen : snaplen;
  const int64_t frac_to_ns = magic == kMagicNanos ? 1 : 1000;

  std::optional<BpfFilter> filter;
  if (!bpf_filter.empty()) {
    auto compiled = BpfFilter::compile(bpf_filter, link_type, max_caplen);
    if (!compiled) return core::make_error(fmt::format("{}: {}", path, compiled.error().message));
    filter.emplace(std::move(compiled).value());
  }
  // `swapped` means "file order differs from this host's": the only per-file decision the
  // record loop would otherwise make per field.
  std::unique_ptr<PacketSource> src;
  if (swapped) {
    src = std::make_unique<ClassicPcapSource<true>>(std::move(file), link_type, snaplen, max_caplen, frac_to_ns,
                                                   std::move(filter));
  } else {
    src = std::make_unique<ClassicPcapSource<false>>(std::move(file), link_type, snaplen, max_caplen, frac_to_ns,
                                                    std::move(filter));
  }
  return src;
}

}  // namespace picket::capture::detail
