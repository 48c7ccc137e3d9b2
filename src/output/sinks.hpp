// The EventSink implementations (the interface itself is in event.hpp). The engine emits to one
// sink (usually a FanoutSink); the app builds the concrete sinks from the configuration and calls
// flush() on a timer and reopen() on SIGHUP.
//
// Contract for every sink here:
// - emit() never throws and never blocks on anything but the write itself; a failure is counted
//   (write_errors()), never fatal.
// - The file sinks are thread-safe; FanoutSink is safe to use from several threads once add() is
//   done; MemorySink is not thread-safe (tests only).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "output/event.hpp"
#include "output/line_file.hpp"

namespace picket::output {

// One EVE JSON object per line (to_json_line). Path "-" = standard output.
class JsonLinesSink : public EventSink {
 public:
  // A sink whose path cannot be opened still exists: it counts every event as a write error.
  explicit JsonLinesSink(std::string path, bool flush_each = false);
  // Error "cannot open events file PATH: <strerror>".
  static core::Result<std::unique_ptr<JsonLinesSink>> open(std::string path, bool flush_each = false);

  void emit(const Event& event) override;
  void flush() override { file_.flush(); }
  void reopen() override { file_.reopen(); }

  const std::string& path() const noexcept { return file_.path(); }
  uint64_t write_errors() const noexcept { return file_.write_errors(); }
  uint64_t dropped_events() const noexcept { return file_.dropped_lines(); }
  std::string last_error() const { return file_.last_error(); }

 private:
  LineFile file_;
};

// The human-readable log: one to_text_line per event. Path "-" = standard output.
class TextLogSink : public EventSink {
 public:
  explicit TextLogSink(std::string path, bool flush_each = false);
  // Error "cannot open events file PATH: <strerror>".
  static core::Result<std::unique_ptr<TextLogSink>> open(std::string path, bool flush_each = false);

  void emit(const Event& event) override;
  void flush() override { file_.flush(); }
  void reopen() override { file_.reopen(); }

  const std::string& path() const noexcept { return file_.path(); }
  uint64_t write_errors() const noexcept { return file_.write_errors(); }
  uint64_t dropped_events() const noexcept { return file_.dropped_lines(); }
  std::string last_error() const { return file_.last_error(); }

 private:
  LineFile file_;
};

// Forwards emit/flush/reopen to every added sink, in the order added.
class FanoutSink : public EventSink {
 public:
  void add(std::unique_ptr<EventSink> sink);  // owned; null is ignored
  void add(EventSink& sink);                  // borrowed: must outlive this FanoutSink
  // Takes `sink` out (an owned one is handed back, a borrowed one or one not here gives null).
  std::unique_ptr<EventSink> remove(const EventSink* sink);

  void emit(const Event& event) override;
  void flush() override;
  void reopen() override;

  size_t size() const noexcept { return sinks_.size(); }

 private:
  std::vector<EventSink*> sinks_;
  std::vector<std::unique_ptr<EventSink>> owned_;
};

// Keeps every event (tests, and `picket` sub-commands that post-process events in memory).
class MemorySink : public EventSink {
 public:
  void emit(const Event& event) override { events_.push_back(event); }
  void flush() override { ++flushes_; }
  void reopen() override { ++reopens_; }

  const std::vector<Event>& events() const noexcept { return events_; }
  void clear() noexcept { events_.clear(); }
  uint64_t flushes() const noexcept { return flushes_; }
  uint64_t reopens() const noexcept { return reopens_; }

 private:
  std::vector<Event> events_;
  uint64_t flushes_ = 0;
  uint64_t reopens_ = 0;
};

}  // namespace picket::output
