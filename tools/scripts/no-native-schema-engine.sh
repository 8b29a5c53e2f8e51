#!/bin/sh
# Stand-in for Prisma's native schema engine, which cannot be downloaded in Tracetune's build environment.
echo "Tracetune runs migrations with Prisma's WebAssembly schema engine: use npm run db:deploy | db:migrate | db:status | db:diff" >&2
exit 1
