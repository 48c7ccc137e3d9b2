#include "capture/mapped_file.hpp"

#include <unistd.h>

#include <algorithm>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "core/unique_fd.hpp"

namespace picket::capture {
namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

}  // namespace

core::Result<MappedFile> MappedFile::open(const std::string& path) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return core::make_error(fmt::format("{}: cannot open: {}", path, errno_text(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return core::make_error(fmt::format("{}: cannot stat: {}", path, errno_text(errno)));
  }
  if (S_ISDIR(st.st_mode)) return core::make_error(fmt::format("{}: is a directory", path));
  if (!S_ISREG(st.st_mode)) return core::make_error(fmt::format("{}: not a regular file", path));
  const auto size = static_cast<size_t>(st.st_size);
  // mmap rejects a zero length; an empty file is a valid (empty) mapping for the caller to judge.
  if (size == 0) return MappedFile(path, nullptr, 0);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) return core::make_error(fmt::format("{}: cannot map: {}", path, errno_text(errno)));
  // Advice only: a failure changes speed, not correctness.
  (void)::madvise(p, size, MADV_SEQUENTIAL);
  return MappedFile(path, static_cast<const uint8_t*>(p), size);
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : path_(std::move(o.path_)), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    unmap();
    path_ = std::move(o.path_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { unmap(); }

void MappedFile::unmap() noexcept {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

void MappedFile::release_before(size_t offset) noexcept {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t end = std::min(offset, size_) / page * page;
  if (data_ == nullptr || end == 0) return;
  (void)::madvise(const_cast<uint8_t*>(data_), end, MADV_DONTNEED);
}

}  // namespace picket::capture
