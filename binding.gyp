{
  "targets": [
    {
      "target_name": "multiproc_native",
      "sources": ["native/multiproc.cc"],
      "cflags_cc": ["-std=c++20", "-O2"],
      "libraries": ["-lrt", "-ldl"]
    }
  ]
}
