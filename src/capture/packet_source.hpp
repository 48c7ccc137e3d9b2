// PacketSource: where frames come from (capture file today; AF_PACKET, libpcap live and the
// simulator later). Frames are handed out in batches so the per-packet cost is a loop iteration,
// not a virtual call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/raw_packet.hpp"
#include "core/result.hpp"

namespace picket::capture {

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // LINKTYPE_* number of every frame this source returns (core::link_type).
  virtual int link_type() const noexcept = 0;
  virtual uint32_t snaplen() const noexcept = 0;
  // Fills `out` with up to out.size() packets and returns how many. 0 = end of input (then check
  // error()). The data pointers stay valid until the next call. Packets rejected by the BPF filter
  // are skipped and counted. A source that hits an error returns the complete packets before it,
  // then 0 from the next call on.
  virtual size_t read_batch(std::span<core::RawPacket> out) noexcept = 0;
  // Set when the input ended early or was unreadable: "FILE: truncated record header after 1234 packets".
  virtual const std::optional<core::Error>& error() const noexcept = 0;
  virtual uint64_t filtered_out() const noexcept = 0;  // packets the BPF filter rejected
  virtual std::string_view name() const noexcept = 0;  // e.g. the file path
  // Fraction of the input consumed so far, 0..1 (for a progress bar); -1 when unknown.
  virtual double progress() const noexcept { return -1; }
};

// Opens a classic pcap (memory-mapped fast path) or pcapng (through libpcap) by looking at the
// magic. `bpf_filter` may be empty (no filter). "-", FIFOs and devices are read through libpcap.
// Errors (missing file, empty file, wrong magic, bad header, bad filter): an Error whose message is
// one line starting with the file name.
core::Result<std::unique_ptr<PacketSource>> open_capture_file(const std::string& path,
                                                              const std::string& bpf_filter);

}  // namespace picket::capture
