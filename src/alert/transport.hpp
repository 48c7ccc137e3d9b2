// Transport: how one destination turns an event into bytes and delivers them. The destination's
// worker thread owns it; nothing here is called from the packet path.
//
// Contract for deliver(): one attempt, bounded by the destination's timeout; it polls `abort` at
// least once a second and gives up when it turns true (shutdown past its deadline). Errors keep the
// library's or the system's text ("HTTP 500", "Connection refused", "Timeout was reached").
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "alert/digest.hpp"
#include "alert/render.hpp"
#include "alert/settings.hpp"
#include "core/result.hpp"
#include "output/event.hpp"

namespace picket::alert {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::string render(const output::Event& event) = 0;
  virtual std::string render(const Digest& digest) = 0;
  virtual core::Result<void> deliver(const std::string& payload, const std::atomic<bool>& abort) = 0;
  // Where it sends, safe to show in `picket status`: scheme, host and port only (a webhook URL's
  // path and user info are secrets — Slack puts the token in the path).
  virtual std::string describe() const = 0;
};

// Call once before any curl transport is made (idempotent, thread-safe).
void init_curl();

std::unique_ptr<Transport> make_webhook_transport(const WebhookSettings& settings, const Origin& origin);
std::unique_ptr<Transport> make_email_transport(const EmailSettings& settings, const Origin& origin);
std::unique_ptr<Transport> make_syslog_transport(const SyslogSettings& settings, const Origin& origin);

// The scheme://host[:port] of a URL, without user info, path or query ("" if it does not parse).
std::string redact_url(const std::string& url);

}  // namespace picket::alert
