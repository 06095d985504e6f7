// `strata chat`: an interactive conversation in the terminal. The conversation lives in a Conversation
// (runtime/chat.h), which keeps the KV cache in step with the rendered chat template, so each turn
// evaluates only what is new. Answers go to stdout; banner, prompts, notices and stats go to stderr, so
// `strata chat < questions > answers` leaves a file of answers.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include "cli/commands.h"
#include "ops/compute.h"
#include "ops/kv_cache.h"
#include "runtime/chat.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "util/error.h"

namespace strata::cli {
namespace {

struct ChatArgs {
  std::string model;
  std::string system;
  std::string chat_template;
  int64_t n_predict = -1;
  SamplerParams sp;
  int64_t seed = -1;
  int64_t n_ctx = 0;
  int threads = 0;
  std::string kv_type = "f16";
  bool no_think = false;
  bool no_repack = false;
  bool ignore_eog = false;
};

constexpr const char* kInputHelp =
    "Enter sends a message. End a line with \\ to continue on the next line, or type \"\"\" on a line of its\n"
    "own to start a multi-line block and again to end it (for pastes).\n"
    "Commands: /system TEXT (no TEXT: remove it), /reset, /save FILE, /help, /quit (a message that starts\n"
    "with / can be sent in a \"\"\" block).\n"
    "Ctrl-C stops an answer; at the prompt it drops the line, and twice in a row quits. Ctrl-D quits.\n";

// ---- Ctrl-C -------------------------------------------------------------------------------------------
// The flag Ctrl-C raises belongs to the chat loop (chat() below owns it). sigaction passes a handler no
// user pointer, so the one global is an atomic pointer to that flag, set only while the handler is
// installed; storing through a lock-free atomic is all the handler does, which is async-signal-safe.
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<std::atomic<bool>*>::is_always_lock_free);
std::atomic<std::atomic<bool>*> g_sigint_flag{nullptr};

extern "C" void on_sigint(int) {
  if (std::atomic<bool>* f = g_sigint_flag.load()) f->store(true);
}

class SigintHandler {
 public:
  explicit SigintHandler(std::atomic<bool>& flag) {
    g_sigint_flag.store(&flag);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    // Restart interrupted writes and reads; the prompt waits in ppoll(), which a signal always interrupts.
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &old_);
  }
  ~SigintHandler() {
    sigaction(SIGINT, &old_, nullptr);
    g_sigint_flag.store(nullptr);
  }
  SigintHandler(const SigintHandler&) = delete;
  SigintHandler& operator=(const SigintHandler&) = delete;

 private:
  struct sigaction old_ {};
};

// Worker threads must not take SIGINT: only the main thread's read() returns EINTR when the signal
// lands on it, so the compute context's pool threads are started with the signal blocked (they inherit
// the mask).
std::unique_ptr<ComputeContext> make_compute_without_sigint(const ComputeOptions& co) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  std::unique_ptr<ComputeContext> compute;
  try {
    compute = std::make_unique<ComputeContext>(co);
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return compute;
}

// ---- input --------------------------------------------------------------------------------------------
enum class ReadStatus { Line, Interrupted, Eof };

// Lines from a file descriptor, waiting in ppoll() so that a Ctrl-C (EINTR) is noticed at the prompt;
// the terminal's own line editing (canonical mode) does the editing.
class LineReader {
 public:
  LineReader(int fd, std::atomic<bool>& interrupted) : fd_(fd), interrupted_(interrupted) {}

  ReadStatus read_line(std::string& line) {
    for (;;) {
      const size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return ReadStatus::Line;
      }
      if (eof_) {
        if (buf_.empty()) return ReadStatus::Eof;
        line.swap(buf_);  // a last line without a newline
        buf_.clear();
        return ReadStatus::Line;
      }
      // SIGINT stays blocked from the flag check until ppoll() atomically unblocks it, so a Ctrl-C in
      // between is not lost until the next key press.
      sigset_t block, orig;
      sigemptyset(&block);
      sigaddset(&block, SIGINT);
      pthread_sigmask(SIG_BLOCK, &block, &orig);
      if (interrupted_.exchange(false)) {
        pthread_sigmask(SIG_SETMASK, &orig, nullptr);
        buf_.clear();  // the terminal dropped the typed line too
        return ReadStatus::Interrupted;
      }
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = ::ppoll(&pfd, 1, nullptr, &orig);
      pthread_sigmask(SIG_SETMASK, &orig, nullptr);
      if (ready < 0) {
        if (errno != EINTR) eof_ = true;
        continue;
      }
      char tmp[4096];
      const ssize_t n = ::read(fd_, tmp, sizeof tmp);
      if (n > 0) buf_.append(tmp, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR) eof_ = true;
    }
  }

 private:
  int fd_;
  std::atomic<bool>& interrupted_;
  std::string buf_;
  bool eof_ = false;
};

struct Input {
  ReadStatus status = ReadStatus::Line;
  std::string text;
  bool block = false;  // came from a """ block: never a command
};

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

class Terminal {
 public:
  Terminal() : in_tty_(isatty(STDIN_FILENO) == 1), out_tty_(isatty(STDOUT_FILENO) == 1) {}

  void ui(const std::string& s) const {
    std::fflush(stdout);
    std::fputs(s.c_str(), stderr);
    std::fflush(stderr);
  }
  // A model's output may hold any bytes; on a terminal, control characters (escape sequences, carriage
  // returns, bells) are shown as their Unicode control pictures instead of acting on the terminal.
  void answer(std::string_view s) const {
    std::string o;
    o.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (!out_tty_ || c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7F && c != 0xC2)) {
        o += static_cast<char>(c);
      } else if (c < 0x20) {
        o += "\xE2\x90";
        o += static_cast<char>(0x80 + c);
      } else if (c == 0x7F) {
        o += "\xE2\x90\xA1";
      } else if (i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                 static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
        o += "\xEF\xBF\xBD";  // a C1 control (U+0080..U+009F)
        ++i;
      } else {
        o += static_cast<char>(c);
      }
    }
    std::fputs(o.c_str(), stdout);
    std::fflush(stdout);
  }

  // One message: a line, lines joined by a trailing backslash, or a """ block.
  Input read_message(LineReader& in) const {
    Input r;
    std::string line;
    ui("> ");
    if ((r.status = read(in, line)) != ReadStatus::Line) return r;
    if (trim(line).substr(0, 3) == "\"\"\"") {
      r.block = true;
      std::string first(trim(line).substr(3));
      bool any = !trim(first).empty();
      if (any) r.text = first;
      for (;;) {
        ui("... ");
        const ReadStatus st = read(in, line);
        if (st == ReadStatus::Interrupted) return {st, {}, true};
        if (st == ReadStatus::Eof || trim(line) == "\"\"\"") break;  // EOF sends what was pasted
        if (any) r.text += '\n';
        r.text += line;
        any = true;
      }
      return r;
    }
    while (!line.empty() && line.back() == '\\') {
      line.pop_back();
      r.text += line + "\n";
      ui("... ");
      const ReadStatus st = read(in, line);
      if (st == ReadStatus::Interrupted) return {st, {}, false};
      if (st == ReadStatus::Eof) {
        line.clear();
        break;
      }
    }
    r.text += line;
    return r;
  }

 private:
  ReadStatus read(LineReader& in, std::string& line) const {
    const ReadStatus st = in.read_line(line);
    if (st == ReadStatus::Line && !in_tty_) ui(line + "\n");  // nobody typed it: show it in the transcript
    return st;
  }
  bool in_tty_, out_tty_;
};

// ---- output -------------------------------------------------------------------------------------------
std::string format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

std::string stats_line(const Reply& r, int64_t n_ctx) {
  const double tps = r.gen_seconds > 0 ? static_cast<double>(r.n_generated) / r.gen_seconds : 0.0;
  return format("[stats] prompt: %lld tokens evaluated (%lld reused from the cache) in %.2f s | answer: %lld tokens in "
                "%.2f s, %.1f tok/s | context: %lld/%lld\n",
                static_cast<long long>(r.n_prompt), static_cast<long long>(r.n_reused), r.prompt_seconds,
                static_cast<long long>(r.n_generated), r.gen_seconds, tps, static_cast<long long>(r.n_ctx_used),
                static_cast<long long>(n_ctx));
}

void save_json(const Conversation& conv, const std::string& model_name, const std::string& path) {
  nlohmann::json msgs = nlohmann::json::array();
  for (const ChatMessage& m : conv.messages()) msgs.push_back({{"role", m.role}, {"content", m.content}});
  const nlohmann::json j = {{"model", model_name},
                            {"chat_template", chat_family_name(conv.chat_template().family())},
                            {"messages", msgs}};
  std::ofstream f(path, std::ios::trunc);
  if (!f) throw InputError("cannot write '" + path + "'");
  // Typed input may hold bytes that are not UTF-8; JSON cannot, so they become U+FFFD.
  f << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (!f) throw Error("writing '" + path + "' failed");
}

// ---- the loop -----------------------------------------------------------------------------------------
void chat(const ChatArgs& a) {
  const TensorType kv = parse_kv_type(a.kv_type, "--kv-type");
  if (a.n_ctx < 0) throw InputError("-c must be >= 0, got " + std::to_string(a.n_ctx));

  auto model = Model::load(a.model);
  const Tokenizer tok = Tokenizer::from_gguf(model->gguf());
  ChatTemplate tmpl = ChatTemplate::for_model(model->gguf(), tok, a.chat_template);

  ComputeOptions co;
  co.threads = a.threads;
  std::unique_ptr<ComputeContext> compute = make_compute_without_sigint(co);
  model->repack(compute->kernels(), compute->pool(), !a.no_repack);
  SessionOptions so;
  so.n_ctx = a.n_ctx;
  so.kv_type = kv;
  so.act_mode = ActivationMode::Quantized;  // the same fast path as `strata run`
  Session session(*model, *compute, so);

  SamplerParams sp = a.sp;
  sp.seed = a.seed >= 0 ? static_cast<uint64_t>(a.seed) : std::random_device{}();
  Sampler sampler(sp);

  ChatRenderOptions ro;
  ro.enable_thinking = !a.no_think;
  Conversation conv(session, tok, tmpl, ro);
  conv.set_system(a.system);

  std::atomic<bool> interrupted{false};
  SigintHandler sigint(interrupted);
  Terminal term;
  LineReader in(STDIN_FILENO, interrupted);

  term.ui("strata chat: " + model->name() + " (" + model->hparams().arch + "), template " +
          chat_family_name(tmpl.family()) + ", context " + std::to_string(session.n_ctx()) + " tokens, " +
          compute->describe() + ", seed " + std::to_string(sp.seed) + "\n" + kInputHelp);
  if (!a.system.empty()) term.ui("system prompt: " + a.system + "\n");

  bool interrupted_at_prompt = false;
  for (;;) {
    Input msg = term.read_message(in);
    if (msg.status == ReadStatus::Eof) {
      term.ui("\n");
      break;
    }
    if (msg.status == ReadStatus::Interrupted) {
      if (interrupted_at_prompt) {
        term.ui("\n");
        break;
      }
      interrupted_at_prompt = true;
      term.ui("\n(input dropped; Ctrl-C again, /quit or Ctrl-D to leave)\n");
      continue;
    }
    interrupted_at_prompt = false;
    if (trim(msg.text).empty()) continue;

    const std::string_view text = trim(msg.text);
    if (!msg.block && text[0] == '/') {
      const size_t sp_at = text.find_first_of(" \t");
      const std::string_view cmd = text.substr(0, sp_at);
      const std::string arg(sp_at == std::string_view::npos ? std::string_view() : trim(text.substr(sp_at)));
      if (cmd == "/quit" || cmd == "/exit") break;
      if (cmd == "/reset") {
        conv.clear();
        term.ui(conv.system().empty() ? "(conversation cleared)\n" : "(conversation cleared; system prompt kept)\n");
      } else if (cmd == "/system") {
        conv.set_system(arg);
        term.ui(arg.empty() ? "(system prompt removed)\n" : "(system prompt set)\n");
      } else if (cmd == "/save") {
        if (arg.empty()) {
          term.ui("usage: /save FILE\n");
          continue;
        }
        try {
          save_json(conv, model->name(), arg);
          term.ui("(saved " + std::to_string(conv.messages().size()) + " messages to " + arg + ")\n");
        } catch (const Error& e) {
          term.ui(std::string("error: ") + e.what() + "\n");
        }
      } else if (cmd == "/help") {
        term.ui(kInputHelp);
      } else {
        term.ui("unknown command " + std::string(cmd) + " (/help lists them)\n");
      }
      continue;
    }

    conv.messages().push_back({"user", msg.text});
    interrupted.store(false);
    ReplyOptions ro_reply;
    ro_reply.max_tokens = a.n_predict;
    ro_reply.ignore_eog = a.ignore_eog;
    ro_reply.should_stop = [&] { return interrupted.load(); };
    ro_reply.on_text = [&](std::string_view s) { term.answer(s); };
    try {
      const Reply r = conv.reply(sampler, ro_reply);
      if (!r.text.empty() && r.text.back() != '\n') term.answer("\n");
      if (!r.answered) term.ui("[stopped before the answer began; the message was dropped]\n");
      else if (r.stop == StopReason::Interrupted) term.ui("[stopped]\n");
      else if (r.stop == StopReason::ContextFull)
        term.ui("[the context is full: /reset starts a new conversation, or restart with a larger -c]\n");
      term.ui(stats_line(r, session.n_ctx()));
    } catch (const ContextFullError& e) {
      conv.messages().pop_back();
      term.ui(std::string("[context full: ") + e.what() + ". /reset starts a new conversation (the system prompt is " +
              "kept), or restart with a larger -c]\n");
    } catch (const Error& e) {
      if (!conv.messages().empty() && conv.messages().back().role == "user") conv.messages().pop_back();
      term.ui(std::string("\nerror: ") + e.what() + "\n");
    }
    interrupted.store(false);  // a Ctrl-C that stopped the answer is not one at the prompt
  }
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("chat", "Interactive chat with a GGUF model in the terminal");
  cmd->footer(std::string("\nInput:\n") + kInputHelp);
  auto a = std::make_shared<ChatArgs>();
  cmd->add_option("-m,--model", a->model, "GGUF model file (first shard of a split set)")->required();
  cmd->add_option("--system", a->system, "system prompt");
  std::string names;
  for (const auto& n : chat_family_names()) names += (names.empty() ? "" : ", ") + n;
  cmd->add_option("--chat-template", a->chat_template,
                  "chat format instead of the one recognised from the file: " + names);
  cmd->add_flag("--no-think", a->no_think, "Qwen3 / GLM-4.5: render the templates' thinking-off form");
  cmd->add_flag("--no-repack", a->no_repack, "compute on the mapped weights as stored (no interleaved DRAM copy)");
  cmd->add_option("-n,--n-predict", a->n_predict, "most tokens per answer (-1: until end of turn or full context)")
      ->capture_default_str();
  cmd->add_flag("--ignore-eog", a->ignore_eog, "do not stop at end-of-generation tokens (benchmarks, tests)");
  cmd->add_option("--temp", a->sp.temperature, "temperature; <= 0 is greedy")->capture_default_str();
  cmd->add_option("--top-k", a->sp.top_k, "keep the k most likely tokens (<= 0: off)")->capture_default_str();
  cmd->add_option("--top-p", a->sp.top_p, "nucleus sampling threshold (1: off)")->capture_default_str();
  cmd->add_option("--min-p", a->sp.min_p, "drop tokens below min-p times the top probability (0: off)")->capture_default_str();
  cmd->add_option("--repeat-penalty", a->sp.repeat_penalty, "penalty for recent tokens (1: off)")->capture_default_str();
  cmd->add_option("--repeat-last-n", a->sp.penalty_last_n, "how many recent tokens the penalties see")->capture_default_str();
  cmd->add_option("--presence-penalty", a->sp.presence_penalty, "subtracted once from seen tokens")->capture_default_str();
  cmd->add_option("--frequency-penalty", a->sp.frequency_penalty, "subtracted per occurrence")->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed (default: random; shown in the banner)");
  cmd->add_option("-c,--ctx-size", a->n_ctx, "context size in tokens, shared by the whole conversation (default: min(4096, trained))");
  cmd->add_option("-t,--threads", a->threads, "threads (default: all hardware threads)");
  cmd->add_option("--kv-type", a->kv_type, "KV cache type: f16, f32 or q8_0 (half the bytes of f16; llama.cpp's -ctk/-ctv q8_0)")->capture_default_str();
  cmd->callback([a] { chat(*a); });
}

}  // namespace strata::cli
