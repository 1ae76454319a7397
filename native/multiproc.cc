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
// 3. copy(): memcpy between any two byte ranges of ArrayBuffers, SharedArrayBuffers
//    or views over them. V8 copies into and out of a SharedArrayBuffer with relaxed
//    atomic stores (TypedArray.prototype.set), several times slower than memcpy for
//    big payloads; queue frames of tens of KiB cross that boundary twice.
//
// The addon is context-aware (NODE_MODULE_INIT) so each worker thread can load it.
#include <node.h>
#include <v8.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

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

// A few taken buffers kept for reuse (queue spill segments): fresh memory costs a
// page fault per 4 KiB on first touch (about 30 µs to fill a 64 KiB frame into a
// new 1 MiB segment, against 0.6 µs for warm memory). Not counted by stashed().
constexpr size_t kPoolStores = 8;
std::vector<std::shared_ptr<v8::BackingStore>>& pool_stores = *new std::vector<std::shared_ptr<v8::BackingStore>>();

// recycle(ticket): undefined — like take, but keeps the memory for reuse(). The
// caller must hold no view it will use again.
void Recycle(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) {
    return Throw(isolate, "recycle expects a ticket number");
  }
  uint64_t ticket = static_cast<uint64_t>(args[0].As<v8::Number>()->Value());
  std::shared_ptr<v8::BackingStore> store;
  std::lock_guard<std::mutex> guard(stash_mutex);
  auto found = stash_table.find(ticket);
  if (found == stash_table.end()) {
    return Throw(isolate, "unknown or already taken shared-memory ticket");
  }
  store = std::move(found->second);
  stash_table.erase(found);
  if (pool_stores.size() < kPoolStores) pool_stores.push_back(std::move(store));
}

// reuse(bytes): SharedArrayBuffer | undefined — a recycled buffer of exactly
// `bytes` bytes (its old contents are left as they were), or undefined.
void Reuse(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) return Throw(isolate, "reuse expects a byte length");
  double bytes = args[0].As<v8::Number>()->Value();
  std::shared_ptr<v8::BackingStore> store;
  {
    std::lock_guard<std::mutex> guard(stash_mutex);
    for (size_t i = pool_stores.size(); i-- > 0;) {
      if (static_cast<double>(pool_stores[i]->ByteLength()) == bytes) {
        store = std::move(pool_stores[i]);
        pool_stores.erase(pool_stores.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
  if (store) args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, store));
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

// The bytes of an ArrayBuffer, SharedArrayBuffer or ArrayBufferView: false if `value` is none of them.
bool BytesOf(Local<Value> value, uint8_t** data, size_t* length) {
  if (value->IsArrayBufferView()) {
    auto view = value.As<v8::ArrayBufferView>();
    // Buffer() moves a small on-heap typed array's bytes off the heap once; later calls are cheap.
    *data = static_cast<uint8_t*>(view->Buffer()->Data()) + view->ByteOffset();
    *length = view->ByteLength();
    return true;
  }
  if (value->IsSharedArrayBuffer()) {
    auto buffer = value.As<SharedArrayBuffer>();
    *data = static_cast<uint8_t*>(buffer->Data());
    *length = buffer->ByteLength();
    return true;
  }
  if (value->IsArrayBuffer()) {
    auto buffer = value.As<v8::ArrayBuffer>();
    *data = static_cast<uint8_t*>(buffer->Data());
    *length = buffer->ByteLength();
    return true;
  }
  return false;
}

// An integer argument in [0, 2^53); false (and a thrown RangeError) otherwise.
bool IndexArg(Isolate* isolate, Local<Value> value, const char* name, size_t* out) {
  double number = value->IsNumber() ? value.As<v8::Number>()->Value() : -1;
  if (!(number >= 0 && number <= 9007199254740991.0) || number != static_cast<double>(static_cast<uint64_t>(number))) {
    std::string message = std::string("copy: expected `") + name + "` to be an integer >= 0";
    isolate->ThrowException(v8::Exception::RangeError(
        v8::String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked()));
    return false;
  }
  *out = static_cast<size_t>(number);
  return true;
}

// copy(target, targetOffset, source, sourceOffset, length): number — copies
// source[sourceOffset, +length) to target[targetOffset, +length) (offsets count
// from each view's start; overlapping ranges are fine) and returns `length`.
// target and source: ArrayBuffer, SharedArrayBuffer, or any ArrayBufferView.
// Throws a RangeError, copying nothing, if either range is out of bounds.
void Copy(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  uint8_t* target;
  uint8_t* source;
  size_t target_length, source_length, target_offset, source_offset, length;
  if (args.Length() < 5 || !BytesOf(args[0], &target, &target_length) || !BytesOf(args[2], &source, &source_length)) {
    return Throw(isolate,
                 "copy expects (target, targetOffset, source, sourceOffset, length); target and source are "
                 "ArrayBuffers, SharedArrayBuffers or views over them");
  }
  if (!IndexArg(isolate, args[1], "targetOffset", &target_offset) ||
      !IndexArg(isolate, args[3], "sourceOffset", &source_offset) ||
      !IndexArg(isolate, args[4], "length", &length)) {
    return;
  }
  if (target_offset > target_length || length > target_length - target_offset ||
      source_offset > source_length || length > source_length - source_offset) {
    isolate->ThrowException(v8::Exception::RangeError(
        v8::String::NewFromUtf8(isolate, "copy: the range is outside the target or the source").ToLocalChecked()));
    return;
  }
  if (length > 0) std::memmove(target + target_offset, source + source_offset, length);
  args.GetReturnValue().Set(static_cast<double>(length));
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  NODE_SET_METHOD(exports, "stash", Stash);
  NODE_SET_METHOD(exports, "take", Take);
  NODE_SET_METHOD(exports, "peek", Peek);
  NODE_SET_METHOD(exports, "stashed", Stashed);
  NODE_SET_METHOD(exports, "recycle", Recycle);
  NODE_SET_METHOD(exports, "reuse", Reuse);
  NODE_SET_METHOD(exports, "publish", Publish);
  NODE_SET_METHOD(exports, "lookup", Lookup);
  NODE_SET_METHOD(exports, "unpublish", Unpublish);
  NODE_SET_METHOD(exports, "copy", Copy);
}
