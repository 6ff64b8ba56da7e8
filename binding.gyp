{
  "targets": [
    {
      "target_name": "ichnet",
      "sources": ["<!@(node -e \"require('node:fs').readdirSync('native',{recursive:true}).filter(f=>f.endsWith('.cc')).forEach(f=>console.log('native/'+f))\")"],
      "include_dirs": ["native", "<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node scripts/libtorch.mjs --include)"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "<!(node scripts/libtorch.mjs --cflags)"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "libraries": ["<!@(node scripts/libtorch.mjs --libs)"]
    }
  ]
}
