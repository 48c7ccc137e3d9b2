// PcapWriter: writes a classic pcap file (host byte order, microsecond or nanosecond variant) for
// the traffic simulator and tests, through one large buffer so ten million packets cost ten
// million memcpys and a few hundred write(2) calls.
//
// Contract: write() never fails visibly — the first I/O error is kept, later writes are dropped,
// and close() reports it ("out.pcap: write failed: No space left on device"). Captured bytes beyond
// the snaplen are cut off; the wire length keeps the original size. Timestamps before the epoch are
// written as 0; seconds past 2106 do not fit the format's 32 bits and wrap.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/result.hpp"
#include "core/time.hpp"
#include "core/unique_fd.hpp"

namespace picket::capture {

class PcapWriter {
 public:
  // Creates (or truncates) `path` and writes the file header. snaplen must be 1..262144.
  static core::Result<PcapWriter> create(const std::string& path, int link_type, uint32_t snaplen, bool nanosecond);

  PcapWriter(PcapWriter&&) noexcept = default;
  PcapWriter& operator=(PcapWriter&& o) noexcept;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();  // closes; an error is lost then, so call close() to see it

  void write(core::Timestamp ts, std::span<const uint8_t> frame) {
    write(ts, frame, static_cast<uint32_t>(frame.size()));
  }
  void write(core::Timestamp ts, std::span<const uint8_t> captured, uint32_t wire_len);
  // Flushes and closes the file; reports the first write error, naming the file. Calling it again
  // returns the same result.
  core::Result<void> close();
  uint64_t packets_written() const noexcept { return packets_; }
  const std::string& path() const noexcept { return path_; }

 private:
  PcapWriter(std::string path, core::UniqueFd fd, uint32_t snaplen, bool nanosecond);
  void flush() noexcept;
  void write_all(const uint8_t* data, size_t len) noexcept;

  std::string path_;
  core::UniqueFd fd_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t used_ = 0;
  uint64_t packets_ = 0;
  uint32_t snaplen_ = 0;
  bool nanosecond_ = false;
  int errno_ = 0;        // first I/O error
  bool closed_ = false;
};

}  // namespace picket::capture
