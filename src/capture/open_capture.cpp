// open_capture_file: picks the reader from the file's first four bytes.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "capture/sources.hpp"

namespace picket::capture {

core::Result<std::unique_ptr<PacketSource>> open_capture_file(const std::string& path,
                                                              const std::string& bpf_filter) {
  using namespace detail;
  if (path.empty()) return core::make_error("capture file name is empty");
  if (path == "-") return open_with_libpcap(path, bpf_filter);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return core::make_error(
        fmt::format("{}: cannot open: {}", path, std::error_code(errno, std::generic_category()).message()));
  }
  // A FIFO or device cannot be mapped; libpcap reads it as a stream.
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return open_with_libpcap(path, bpf_filter);

  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.error();
  const auto bytes = mapped->bytes();
  if (bytes.empty()) return core::make_error(fmt::format("{}: empty file", path));
  if (bytes.size() < 4) {
    return core::make_error(
        fmt::format("{}: truncated file header ({} of {} bytes)", path, bytes.size(), kFileHeaderLen));
  }
  uint32_t magic;
  std::memcpy(&magic, bytes.data(), sizeof magic);
  const uint32_t swapped = __builtin_bswap32(magic);
  if (magic == kMagicMicros || magic == kMagicNanos || swapped == kMagicMicros || swapped == kMagicNanos) {
    return open_classic_pcap(std::move(mapped).value(), bpf_filter);
  }
  if (magic == kMagicPcapng || magic == kMagicModified || swapped == kMagicModified) {
    return open_with_libpcap(path, bpf_filter);
  }
  return core::make_error(fmt::format("{}: not a pcap or pcapng file (starts with {:02x} {:02x} {:02x} {:02x})", path,
                                      bytes[0], bytes[1], bytes[2], bytes[3]));
}

}  // namespace picket::capture
