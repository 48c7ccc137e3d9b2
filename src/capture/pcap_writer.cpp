#include "capture/pcap_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "capture/bpf_filter.hpp"

namespace picket::capture {
namespace {

constexpr size_t kBufferSize = size_t{1} << 20;  // large writes; also bigger than any one record
constexpr uint32_t kMagicMicros = 0xa1b2c3d4;
constexpr uint32_t kMagicNanos = 0xa1b23c4d;

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

inline void put_u32(uint8_t* p, uint32_t v) noexcept { std::memcpy(p, &v, sizeof v); }
inline void put_u16(uint8_t* p, uint16_t v) noexcept { std::memcpy(p, &v, sizeof v); }

}  // namespace

core::Result<PcapWriter> PcapWriter::create(const std::string& path, int link_type, uint32_t snaplen,
                                            bool nanosecond) {
  if (snaplen == 0 || snaplen > kMaxSnaplen) {
    return core::make_error(fmt::format("{}: snaplen {} is outside 1..{}", path, snaplen, kMaxSnaplen));
  }
  if (link_type < 0) return core::make_error(fmt::format("{}: invalid link type {}", path, link_type));
  core::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return core::make_error(fmt::format("{}: cannot create: {}", path, errno_text(errno)));
  PcapWriter w(path, std::move(fd), snaplen, nanosecond);
  uint8_t* h = w.buf_.get();
  // Host byte order, as libpcap writes it; readers detect the order from the magic.
  put_u32(h, nanosecond ? kMagicNanos : kMagicMicros);
  put_u16(h + 4, 2);
  put_u16(h + 6, 4);
  put_u32(h + 8, 0);   // thiszone
  put_u32(h + 12, 0);  // sigfigs
  put_u32(h + 16, snaplen);
  put_u32(h + 20, static_cast<uint32_t>(link_type));
  w.used_ = 24;
  return w;
}

PcapWriter::PcapWriter(std::string path, core::UniqueFd fd, uint32_t snaplen, bool nanosecond)
    : path_(std::move(path)),
      fd_(std::move(fd)),
      buf_(new uint8_t[kBufferSize]),
      snaplen_(snaplen),
      nanosecond_(nanosecond) {}

PcapWriter& PcapWriter::operator=(PcapWriter&& o) noexcept {
  if (this != &o) {
    (void)close();
    path_ = std::move(o.path_);
    fd_ = std::move(o.fd_);
    buf_ = std::move(o.buf_);
    used_ = std::exchange(o.used_, 0);
    packets_ = std::exchange(o.packets_, 0);
    snaplen_ = o.snaplen_;
    nanosecond_ = o.nanosecond_;
    errno_ = std::exchange(o.errno_, 0);
    closed_ = std::exchange(o.closed_, true);
  }
  return *this;
}

PcapWriter::~PcapWriter() { (void)close(); }

void PcapWriter::write(core::Timestamp ts, std::span<const uint8_t> captured, uint32_t wire_len) {
  if (closed_ || !fd_.valid()) return;
  const auto cap = static_cast<uint32_t>(std::min<size_t>(captured.size(), snaplen_));
  const size_t need = 16 + size_t{cap};
  if (kBufferSize - used_ < need) flush();  // snaplen <= 256 KiB, so one record always fits after a flush
  const int64_t ns = std::max<int64_t>(ts.ns, 0);
  const auto sec = static_cast<uint32_t>(ns / 1'000'000'000);
  const auto sub = static_cast<uint32_t>(ns % 1'000'000'000);
  uint8_t* r = buf_.get() + used_;
  put_u32(r, sec);
  put_u32(r + 4, nanosecond_ ? sub : sub / 1000);
  put_u32(r + 8, cap);
  put_u32(r + 12, std::max(wire_len, cap));
  if (cap != 0) std::memcpy(r + 16, captured.data(), cap);
  used_ += need;
  ++packets_;
}

void PcapWriter::flush() noexcept {
  if (used_ != 0) write_all(buf_.get(), used_);
  used_ = 0;
}

void PcapWriter::write_all(const uint8_t* data, size_t len) noexcept {
  while (len > 0 && errno_ == 0) {
    const ssize_t n = ::write(fd_.get(), data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      errno_ = errno;
    } else if (n == 0) {
      errno_ = EIO;  // write(2) of a regular file returns 0 only when something is badly wrong
    } else {
      data += n;
      len -= static_cast<size_t>(n);
    }
  }
}

core::Result<void> PcapWriter::close() {
  if (!closed_ && fd_.valid()) {
    flush();
    // close(2) can report a delayed write error (NFS, quota); keep it if nothing failed before.
    if (::close(fd_.release()) != 0 && errno_ == 0 && errno != EINTR) errno_ = errno;
    buf_.reset();
  }
  closed_ = true;
  if (errno_ != 0) return core::make_error(fmt::format("{}: write failed: {}", path_, errno_text(errno_)));
  return {};
}

}  // namespace picket::capture
