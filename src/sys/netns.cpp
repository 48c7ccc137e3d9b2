#include "sys/netns.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>

#include <cerrno>
#include <cstring>

#include "core/unique_fd.hpp"

namespace picket::sys {

core::Result<void> enter_netns(const std::string& name) {
  core::UniqueFd fd(open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return core::make_error(fmt::format("open netns {}: {}", name, std::strerror(errno)));
  if (setns(fd.get(), CLONE_NEWNET) < 0) {
    return core::make_error(fmt::format("setns {}: {}", name, std::strerror(errno)));
  }
  return {};
}

}  // namespace picket::sys
