// The concrete file sources behind open_capture_file (internal to capture/; tests reach them
// through open_capture_file).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "capture/bpf_filter.hpp"
#include "capture/mapped_file.hpp"
#include "capture/packet_source.hpp"

namespace picket::capture::detail {

// Classic pcap file magics, as read in the writer's byte order.
inline constexpr uint32_t kMagicMicros = 0xa1b2c3d4;
inline constexpr uint32_t kMagicNanos = 0xa1b23c4d;
inline constexpr uint32_t kMagicModified = 0xa1b2cd34;  // Kuznetzov's patched format: 24-byte records
inline constexpr uint32_t kMagicPcapng = 0x0a0d0d0a;    // section header block type (palindrome)
inline constexpr size_t kFileHeaderLen = 24;
inline constexpr size_t kRecordHeaderLen = 16;

// The memory-mapped classic pcap reader. `file` holds a complete 24-byte header with a classic
// magic (open_capture_file checked it); the header is validated here. The filter is compiled here
// because it needs the header's link type and snaplen.
core::Result<std::unique_ptr<PacketSource>> open_classic_pcap(MappedFile file, const std::string& bpf_filter);

// Any file libpcap reads (pcapng, classic from a pipe, the modified format), with nanosecond stamps.
core::Result<std::unique_ptr<PacketSource>> open_with_libpcap(const std::string& path, const std::string& bpf_filter);

}  // namespace picket::capture::detail
