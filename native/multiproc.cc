// multiproc's native addon: the few things JavaScript cannot do by itself.
//
// 1. A process-wide stash of SharedArrayBuffer backing stores. Worker threads
//    are separate V8 isolates; a SharedArrayBuffer can reach another isolate
//    only through postMessage. Queues and pipes move bytes through a ring in
//    shared memory, so a library object inside a message (a Lock, a Value,
//    another Queue) cannot ride along. Instead the sender stashes the buffer's
//    backing store here under a numeric ticket, writes the ticket into the
//    ring, and the receiver takes it back out as a SharedArrayBuffer over the
//    same memory. This addon's static state is shared by every thread of the
//    process, which is exactly the reach a thread-context queue needs.
//
// 2. A process-wide table of named SharedArrayBuffers, so that SharedMemory
//    blocks created in one worker thread can be attached by name in another
//    (Python's SharedMemory(name=...)) in the thread context.
//
// The addon is context-aware (NODE_MODULE_INIT) so each worker thread can load it.
#include <node.h>
#include <v8.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace {

using v8::BigInt;
using v8::Context;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::SharedArrayBuffer;
using v8::Value;

std::mutex stash_mutex;
// Heap-allocated and never destroyed: a static table's destructor would free
// backing stores after V8 is torn down at process exit and crash (SIGSEGV)
// whenever a stashed buffer was never taken (an unread queue item).
std::unordered_map<uint64_t, std::shared_ptr<v8::BackingStore>>& stash_table =
    *new std::unordered_map<uint64_t, std::shared_ptr<v8::BackingStore>>();
uint64_t next_ticket = 1;

void Throw(Isolate* isolate, const char* message) {
  isolate->ThrowException(v8::Exception::TypeError(
      v8::String::NewFromUtf8(isolate, message).ToLocalChecked()));
}

// stash(sab: SharedArrayBuffer): number — keeps the memory alive until taken.
void Stash(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsSharedArrayBuffer()) {
    return Throw(isolate, "stash expects a SharedArrayBuffer");
  }
  auto store = args[0].As<SharedArrayBuffer>()->GetBackingStore();
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> guard(stash_mutex);
    ticket = next_ticket++;
    stash_table.emplace(ticket, std::move(store));
  }
  args.GetReturnValue().Set(static_cast<double>(ticket));
}

// take(ticket: number): SharedArrayBuffer — removes the ticket; throws if unknown.
void Take(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) {
    return Throw(isolate, "take expects a ticket number");
  }
  uint64_t ticket = static_cast<uint64_t>(args[0].As<v8::Number>()->Value());
  std::shared_ptr<v8::BackingStore> store;
  {
    std::lock_guard<std::mutex> guard(stash_mutex);
    auto found = stash_table.find(ticket);
    if (found == stash_table.end()) {
      return Throw(isolate, "unknown or already taken shared-memory ticket");
    }
    store = std::move(found->second);
    stash_table.erase(found);
  }
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, store));
}

// peek(ticket): SharedArrayBuffer — like take, but leaves the ticket in place.
void Peek(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) {
    return Throw(isolate, "peek expects a ticket number");
  }
  uint64_t ticket = static_cast<uint64_t>(args[0].As<v8::Number>()->Value());
  std::shared_ptr<v8::BackingStore> store;
  {
    std::lock_guard<std::mutex> guard(stash_mutex);
    auto found = stash_table.find(ticket);
    if (found == stash_table.end()) {
      return Throw(isolate, "unknown shared-memory ticket");
    }
    store = found->second;
  }
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, store));
}

// stashed(): number — how many tickets are waiting (for leak checks in tests).
void Stashed(const FunctionCallbackInfo<Value>& args) {
  std::lock_guard<std::mutex> guard(stash_mutex);
  args.GetReturnValue().Set(static_cast<double>(stash_table.size()));
}

std::mutex names_mutex;
std::unordered_map<std::string, std::shared_ptr<v8::BackingStore>>& names_table =
    *new std::unordered_map<std::string, std::shared_ptr<v8::BackingStore>>();  // never destroyed, as stash_table

std::string ArgString(Isolate* isolate, Local<Value> value) {
  v8::String::Utf8Value text(isolate, value);
  return *text ? std::string(*text, text.length()) : std::string();
}

// publish(name, sab): boolean — false if the name is taken.
void Publish(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 2 || !args[0]->IsString() || !args[1]->IsSharedArrayBuffer()) {
    return Throw(isolate, "publish expects (name: string, buffer: SharedArrayBuffer)");
  }
  std::string name = ArgString(isolate, args[0]);
  auto store = args[1].As<SharedArrayBuffer>()->GetBackingStore();
  std::lock_guard<std::mutex> guard(names_mutex);
  bool inserted = names_table.emplace(name, std::move(store)).second;
  args.GetReturnValue().Set(inserted);
}

// lookup(name): SharedArrayBuffer | undefined
void Lookup(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) return Throw(isolate, "lookup expects a name");
  std::string name = ArgString(isolate, args[0]);
  std::shared_ptr<v8::BackingStore> store;
  {
    std::lock_guard<std::mutex> guard(names_mutex);
    auto found = names_table.find(name);
    if (found == names_table.end()) return;
    store = found->second;
  }
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, store));
}

// unpublish(name): boolean — false if there was no such name.
void Unpublish(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) return Throw(isolate, "unpublish expects a name");
  std::string name = ArgString(isolate, args[0]);
  std::lock_guard<std::mutex> guard(names_mutex);
  args.GetReturnValue().Set(names_table.erase(name) > 0);
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  NODE_SET_METHOD(exports, "stash", Stash);
  NODE_SET_METHOD(exports, "take", Take);
  NODE_SET_METHOD(exports, "peek", Peek);
  NODE_SET_METHOD(exports, "stashed", Stashed);
  NODE_SET_METHOD(exports, "publish", Publish);
  NODE_SET_METHOD(exports, "lookup", Lookup);
  NODE_SET_METHOD(exports, "unpublish", Unpublish);
}
