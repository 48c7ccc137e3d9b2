// Working inside a network namespace without moving the process: setns() moves only the calling
// thread, so in_netns() runs a function on a short-lived thread that joined /run/netns/NAME.
// Sockets made there stay in that namespace and can be used from any thread afterwards.
#pragma once

#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "core/result.hpp"

namespace picket::sys {

// Joins /run/netns/NAME on the calling thread.
core::Result<void> enter_netns(const std::string& name);

// Runs fn() on a fresh thread inside namespace `name`; fn returns a core::Result<T>, and so does
// in_netns (an Error when the namespace cannot be joined).
template <typename F>
auto in_netns(const std::string& name, F fn) -> decltype(fn()) {
  using R = decltype(fn());
  std::optional<R> out;
  std::string join_error;
  std::thread t([&] {
    if (auto r = enter_netns(name); !r) {
      join_error = r.error().message;
      return;
    }
    out.emplace(fn());
  });
  t.join();
  if (!out) return R(core::make_error(join_error));
  return std::move(*out);
}

}  // namespace picket::sys
