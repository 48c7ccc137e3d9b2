// Webhook (HTTP POST) and email (SMTP) transports over libcurl's easy interface: one easy handle
// per destination, reused so a keep-alive connection survives between messages.
#include <chrono>
#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

#include "alert/transport.hpp"

namespace picket::alert {
namespace {

struct CurlHandle {
  CURL* h = curl_easy_init();
  ~CurlHandle() {
    if (h != nullptr) curl_easy_cleanup(h);
  }
};

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

Slist make_slist(const std::vector<std::string>& items) {
  curl_slist* l = nullptr;
  for (const auto& s : items) {
    curl_slist* n = curl_slist_append(l, s.c_str());
    if (n == nullptr) break;  // out of memory: the list is shorter, the transfer still runs
    l = n;
  }
  return Slist(l);
}

size_t keep_start(char* data, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t n = size * nmemb;
  if (body->size() < 200) body->append(data, std::min(n, 200 - body->size()));
  return n;
}

int abort_check(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load(std::memory_order_relaxed) ? 1 : 0;
}

struct Upload {
  const std::string* data;
  size_t pos = 0;
};

size_t read_upload(char* buf, size_t size, size_t nmemb, void* user) {
  auto* u = static_cast<Upload*>(user);
  size_t n = std::min(size * nmemb, u->data->size() - u->pos);
  std::memcpy(buf, u->data->data() + u->pos, n);
  u->pos += n;
  return n;
}

// Options every transfer shares: timeouts, no signals (we run in a thread), the abort hook.
void common_options(CURL* h, core::Duration timeout, char* errbuf, const std::atomic<bool>* abort) {
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.ns / 1'000'000));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.ns / 1'000'000));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_check);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(abort));
}

std::string curl_error(CURLcode rc, const char* errbuf, const std::atomic<bool>& abort) {
  if (rc == CURLE_ABORTED_BY_CALLBACK && abort.load()) return "aborted at shutdown";
  if (errbuf[0] != '\0') return fmt::format("{}: {}", curl_easy_strerror(rc), errbuf);
  return curl_easy_strerror(rc);
}

class WebhookTransport final : public Transport {
 public:
  WebhookTransport(const WebhookSettings& s, const Origin& origin) : s_(s), origin_(origin) {
    std::vector<std::string> headers = {"Content-Type: application/json", "User-Agent: picket-alert"};
    headers.insert(headers.end(), s.headers.begin(), s.headers.end());
    headers_ = make_slist(headers);
  }

  std::string render(const output::Event& e) override {
    return s_.format == WebhookFormat::slack ? slack_payload(e, origin_) : webhook_json(e);
  }
  std::string render(const Digest& g) override {
    return s_.format == WebhookFormat::slack ? slack_payload(g, origin_) : webhook_json(g);
  }

  core::Result<void> deliver(const std::string& payload, const std::atomic<bool>& abort) override {
    if (curl_.h == nullptr) return core::make_error("curl_easy_init failed");
    CURL* h = curl_.h;
    curl_easy_reset(h);
    char errbuf[CURL_ERROR_SIZE] = {};
    std::string reply;
    common_options(h, s_.limits.timeout, errbuf, &abort);
    curl_easy_setopt(h, CURLOPT_URL, s_.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is a misconfiguration, not a hint
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_start);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) return core::make_error(curl_error(rc, errbuf, abort));
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
      std::string text = header_safe(reply, 120);
      return core::make_error(text.empty() ? fmt::format("HTTP {}", status) : fmt::format("HTTP {}: {}", status, text));
    }
    return {};
  }

  std::string describe() const override { return redact_url(s_.url); }

 private:
  WebhookSettings s_;
  Origin origin_;
  CurlHandle curl_;
  Slist headers_;
};

// libcurl greets with the URL's path as the EHLO name and "localhost" without one, which strict
// servers refuse: name the sensor instead, unless the user gave a path.
std::string with_ehlo_name(const std::string& url, const std::string& hostname) {
  bool domain_like = !hostname.empty() && hostname != "-";
  for (char c : hostname)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      domain_like = false;
  if (!domain_like) return url;
  CURLU* u = curl_url();
  if (u == nullptr) return url;
  std::string out = url;
  char* path = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path != nullptr &&
      (path[0] == '\0' || std::string_view(path) == "/")) {
    char* full = nullptr;
    if (curl_url_set(u, CURLUPART_PATH, ("/" + hostname).c_str(), 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK && full != nullptr)
      out = full;
    curl_free(full);
  }
  curl_free(path);
  curl_url_cleanup(u);
  return out;
}

class EmailTransport final : public Transport {
 public:
  EmailTransport(const EmailSettings& s, const Origin& origin) : s_(s), origin_(origin) {
    std::vector<std::string> rcpt;
    for (const auto& t : s.to) rcpt.push_back("<" + t + ">");
    rcpt_ = make_slist(rcpt);
    env_ = MailEnvelope{s.from, s.to};
    s_.url = with_ehlo_name(s.url, origin.hostname);
  }

  std::string render(const output::Event& e) override {
    return mail_message(e, env_, origin_, wall_now(), next_message_id());
  }
  std::string render(const Digest& g) override { return mail_message(g, env_, origin_, wall_now(), next_message_id()); }

  core::Result<void> deliver(const std::string& payload, const std::atomic<bool>& abort) override {
    if (curl_.h == nullptr) return core::make_error("curl_easy_init failed");
    CURL* h = curl_.h;
    curl_easy_reset(h);
    char errbuf[CURL_ERROR_SIZE] = {};
    common_options(h, s_.limits.timeout, errbuf, &abort);
    curl_easy_setopt(h, CURLOPT_URL, s_.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_USE_SSL, s_.tls == SmtpTls::require ? CURLUSESSL_ALL : CURLUSESSL_TRY);
    if (!s_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, s_.ca_file.c_str());
    if (!s_.username.empty()) {
      curl_easy_setopt(h, CURLOPT_USERNAME, s_.username.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, s_.password.c_str());
    }
    std::string from = "<" + s_.from + ">";
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt_.get());
    Upload up{&payload};
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) return core::make_error(curl_error(rc, errbuf, abort));
    return {};
  }

  std::string describe() const override { return redact_url(s_.url); }

 private:
  static core::Timestamp wall_now() {
    return core::Timestamp{
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count()};
  }
  std::string next_message_id() {
    return fmt::format("{}.{}.{}@{}", wall_now().ns, origin_.pid, ++sequence_,
                       origin_.hostname == "-" ? "picket.invalid" : origin_.hostname);
  }

  EmailSettings s_;
  Origin origin_;
  MailEnvelope env_;
  CurlHandle curl_;
  Slist rcpt_;
  uint64_t sequence_ = 0;
};

}  // namespace

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string redact_url(const std::string& url) {
  CURLU* u = curl_url();
  if (u == nullptr) return "";
  std::string out;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    if (scheme != nullptr && host != nullptr)
      out = fmt::format("{}://{}{}{}", scheme, host, port ? ":" : "", port ? port : "");
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
  }
  curl_url_cleanup(u);
  return out;
}

std::unique_ptr<Transport> make_webhook_transport(const WebhookSettings& s, const Origin& origin) {
  init_curl();
  return std::make_unique<WebhookTransport>(s, origin);
}

std::unique_ptr<Transport> make_email_transport(const EmailSettings& s, const Origin& origin) {
  init_curl();
  return std::make_unique<EmailTransport>(s, origin);
}

}  // namespace picket::alert
