#include "control/server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "control/protocol.hpp"
#include "core/unique_fd.hpp"

namespace picket::control {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

core::Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa.sun_path)) {
    return core::make_error("control socket path must be 1.." + std::to_string(sizeof(sa.sun_path) - 1) +
                            " characters: " + path);
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

// True when something accepts connections at `path` (another daemon).
bool socket_alive(const sockaddr_un& sa) {
  core::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return false;
  return connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0;
}

}  // namespace

struct ControlServer::Impl {
  struct Client {
    core::UniqueFd fd;
    std::string in;
    std::string out;
    bool subscriber = false;
    std::set<output::EventType> types;  // empty: all
    uint64_t dropped_unreported = 0;
    bool closing = false;  // close once `out` is written
  };
  struct Request {
    uint64_t client = 0;
    Json body;
  };

  ServerOptions options;
  core::UniqueFd listen_fd;
  core::UniqueFd wake_fd;  // eventfd: replies or events are waiting, or stop
  std::thread thread;
  std::atomic<bool> stopping{false};

  std::mutex mu;  // guards everything below
  std::map<uint64_t, Client> clients;
  uint64_t next_id = 1;
  std::deque<Request> queue;
  std::function<void()> wake_daemon;
  ServerStats stats;

  class Sink : public output::EventSink {
   public:
    explicit Sink(Impl& impl) : impl_(impl) {}
    void emit(const output::Event& ev) override { impl_.publish(ev); }

   private:
    Impl& impl_;
  } sink{*this};

  void poke() const {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd.get(), &one, sizeof(one));
  }

  // Appends a line to a client's buffer; false when it would pass the bound.
  static bool queue_line(Client& c, const std::string& line) {
    if (c.out.size() + line.size() + 1 > kMaxOutBytes) return false;
    c.out += line;
    c.out.push_back('\n');
    return true;
  }

  void publish(const output::Event& ev) {
    std::lock_guard lock(mu);
    bool any = false;
    std::string line;
    for (auto& [id, c] : clients) {
      if (!c.subscriber || c.closing) continue;
      if (!c.types.empty() && !c.types.count(ev.type)) continue;
      if (line.empty()) line = output::to_json_line(ev);
      if (c.dropped_unreported > 0) {
        Json notice = {{"picket", {{"events_dropped", c.dropped_unreported}}}};
        if (queue_line(c, notice.dump())) c.dropped_unreported = 0;
      }
      if (queue_line(c, line)) {
        ++stats.events_sent;
        any = true;
      } else {
        ++c.dropped_unreported;
        ++stats.events_dropped;
      }
    }
    if (any) poke();
  }

  // Replies are not bounded like events: the client asked for them, and a lost reply would leave
  // it waiting. Their size is bounded by the daemon's own state.
  static void queue_reply(Client& c, const Json& r) {
    c.out += r.dump(-1, ' ', true);
    c.out.push_back('\n');
  }

  void reply(Client& c, const Json& r, bool close_after) {
    queue_reply(c, r);
    if (close_after) c.closing = true;
  }

  // Splits complete lines off a client's input (under the lock).
  void handle_input(uint64_t id, Client& c) {
    size_t pos;
    while (!c.closing && (pos = c.in.find('\n')) != std::string::npos) {
      std::string line = c.in.substr(0, pos);
      c.in.erase(0, pos + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      ++stats.requests;
      auto req = parse_request(line);
      if (!req) {
        ++stats.bad_requests;
        reply(c, error_reply(req.error().message), false);
        continue;
      }
      if ((*req)["cmd"] == "events") {
        c.subscriber = true;
        if (auto t = req->find("types"); t != req->end()) {
          for (const auto& e : *t) {
            if (auto et = output::parse_event_type(e.get<std::string>())) c.types.insert(*et);
          }
        }
        reply(c, ok_reply(Json{{"following", true}}), false);
        continue;
      }
      if (queue.size() >= kMaxQueued) {
        reply(c, error_reply("busy: too many requests waiting"), false);
        continue;
      }
      queue.push_back({id, std::move(*req)});
    }
    if (c.in.size() > kMaxRequestBytes) {
      ++stats.bad_requests;
      c.in.clear();
      reply(c, error_reply("request too long (at most 65536 bytes per line)"), true);
    }
  }

  void run() {
    std::vector<pollfd> fds;
    std::vector<uint64_t> ids;
    while (!stopping.load()) {
      fds.clear();
      ids.clear();
      fds.push_back({wake_fd.get(), POLLIN, 0});
      fds.push_back({listen_fd.get(), POLLIN, 0});
      {
        std::lock_guard lock(mu);
        for (auto& [id, c] : clients) {
          short ev = c.closing ? 0 : POLLIN;
          if (!c.out.empty()) ev |= POLLOUT;
          fds.push_back({c.fd.get(), ev, 0});
          ids.push_back(id);
        }
      }
      if (poll(fds.data(), fds.size(), 1000) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents & POLLIN) {
        uint64_t n;
        [[maybe_unused]] ssize_t r = read(wake_fd.get(), &n, sizeof(n));
      }
      if (fds[1].revents & POLLIN) accept_one();
      bool queued = false;
      {
        std::lock_guard lock(mu);
        for (size_t i = 0; i < ids.size(); ++i) {
          auto it = clients.find(ids[i]);
          if (it == clients.end()) continue;
          Client& c = it->second;
          const short re = fds[i + 2].revents;
          bool drop = false;
          if (re & (POLLIN | POLLHUP | POLLERR)) {
            char buf[8192];
            const ssize_t n = recv(c.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0) {
              c.in.append(buf, static_cast<size_t>(n));
              const size_t before = queue.size();
              handle_input(it->first, c);
              queued = queued || queue.size() > before;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
              drop = true;
            }
          }
          if (!drop && !c.out.empty() && (re & POLLOUT || c.closing)) {
            const ssize_t n = send(c.fd.get(), c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) c.out.erase(0, static_cast<size_t>(n));
            else if (n < 0 && errno != EAGAIN && errno != EINTR) drop = true;
          }
          if (c.closing && c.out.empty()) drop = true;
          if (drop) clients.erase(it);
        }
      }
      if (queued) {
        std::function<void()> w;
        {
          std::lock_guard lock(mu);
          w = wake_daemon;
        }
        if (w) w();
      }
    }
  }

  void accept_one() {
    core::UniqueFd fd(accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (fd.get() < 0) return;
    std::lock_guard lock(mu);
    ++stats.connections;
    if (clients.size() >= options.max_clients) {
      ++stats.refused_busy;
      const std::string line = error_reply("busy: too many control connections").dump() + "\n";
      [[maybe_unused]] ssize_t n = send(fd.get(), line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      return;
    }
    Client c;
    c.fd = std::move(fd);
    clients.emplace(next_id++, std::move(c));
  }
};

core::Result<std::unique_ptr<ControlServer>> ControlServer::open(const ServerOptions& options) {
  auto sa = unix_address(options.path);
  if (!sa) return sa.error();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (socket_alive(*sa)) {
    return core::make_error("control socket " + options.path + ": another picket is listening there");
  }
  unlink(options.path.c_str());  // a stale socket from a daemon that died
  impl->listen_fd = core::UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (impl->listen_fd.get() < 0) return core::make_error("control socket: " + errno_text(errno));
  // Created with no permissions for anyone, then opened up to `mode`: no window where it is wider.
  const mode_t old = umask(0777);
  const int b = bind(impl->listen_fd.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa));
  const int bind_errno = errno;
  umask(old);
  if (b != 0) return core::make_error("control socket " + options.path + ": " + errno_text(bind_errno));
  if (!options.group.empty()) {
    const group* g = getgrnam(options.group.c_str());
    if (g == nullptr) {
      unlink(options.path.c_str());
      return core::make_error("control socket: no such group: " + options.group);
    }
    if (chown(options.path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      const int e = errno;
      unlink(options.path.c_str());
      return core::make_error("control socket " + options.path + ": chgrp " + options.group + ": " + errno_text(e));
    }
  }
  if (chmod(options.path.c_str(), options.mode) != 0 || listen(impl->listen_fd.get(), 16) != 0) {
    const int e = errno;
    unlink(options.path.c_str());
    return core::make_error("control socket " + options.path + ": " + errno_text(e));
  }
  impl->wake_fd = core::UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (impl->wake_fd.get() < 0) return core::make_error("control socket: eventfd: " + errno_text(errno));
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  impl_->stopping.store(true);
  impl_->poke();
  if (impl_->thread.joinable()) impl_->thread.join();
  unlink(impl_->options.path.c_str());
}

void ControlServer::set_wake(std::function<void()> wake) {
  std::lock_guard lock(impl_->mu);
  impl_->wake_daemon = std::move(wake);
}

size_t ControlServer::serve_pending(const Handler& handler) {
  std::deque<Impl::Request> work;
  {
    std::lock_guard lock(impl_->mu);
    work.swap(impl_->queue);
  }
  if (work.empty()) return 0;
  std::vector<std::pair<uint64_t, Json>> replies;
  for (auto& r : work) {
    auto result = handler(r.body);
    replies.emplace_back(r.client, result ? ok_reply(std::move(*result)) : error_reply(result.error().message));
  }
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [id, reply] : replies) {
      auto it = impl_->clients.find(id);
      if (it != impl_->clients.end()) Impl::queue_reply(it->second, reply);
    }
  }
  impl_->poke();
  return work.size();
}

output::EventSink& ControlServer::event_sink() { return impl_->sink; }

ServerStats ControlServer::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

const std::string& ControlServer::path() const noexcept { return impl_->options.path; }

}  // namespace picket::control
