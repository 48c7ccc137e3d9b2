// MappedFile: a whole file mapped read-only, for readers that walk it front to back without copying.
//
// Contract: bytes() stays valid and unchanged for the object's lifetime (moves keep the mapping).
// An empty file maps to an empty span. The mapping is advised MADV_SEQUENTIAL so the kernel reads
// ahead and drops pages behind. If another process truncates the file while it is mapped, touching
// the lost pages raises SIGBUS — the same hazard every mmap reader has; capture files are written
// once and then read, so picket accepts it for the speed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "core/result.hpp"

namespace picket::capture {

class MappedFile {
 public:
  // Errors name the file and keep the errno text: "x.pcap: cannot open: No such file or directory".
  // Only regular files can be mapped; a directory, FIFO or device is an error.
  static core::Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const noexcept { return {data_, size_}; }
  // Tells the kernel the bytes before `offset` will not be read again, so their pages leave this
  // process's resident set (they stay in the page cache; reading them again would still work).
  // Keeps a replay's RSS flat however large the file.
  void release_before(size_t offset) noexcept;
  size_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size) noexcept
      : path_(std::move(path)), data_(data), size_(size) {}
  void unmap() noexcept;

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace picket::capture
