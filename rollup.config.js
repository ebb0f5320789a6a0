// Self-contained ESM bundles (no shared chunks), as the typescript-action template does:
// the toolkit packages are ESM-only, so a CommonJS bundler cannot take them.
import commonjs from '@rollup/plugin-commonjs'
import nodeResolve from '@rollup/plugin-node-resolve'
import typescript from '@rollup/plugin-typescript'

const bundle = (input, file) => ({
  input,
  output: { file, format: 'es', sourcemap: false },
  plugins: [
    typescript({ tsconfig: './tsconfig.build.json', noEmitOnError: true }),
    nodeResolve({ preferBuiltins: true }),
    commonjs()
  ],
  onwarn(warning, warn) {
    // The toolkit's own `this` at module scope is harmless in ESM output.
    if (warning.code === 'THIS_IS_UNDEFINED') return
    // Cycles inside @actions/core and semver are theirs and harmless.
    if (
      warning.code === 'CIRCULAR_DEPENDENCY' &&
      warning.ids?.every(id => id.includes('node_modules'))
    )
      return
    warn(warning)
  }
})

export default [
  bundle('src/index.ts', 'dist/index.js'),
  bundle('src/post-index.ts', 'dist/post.js'),
  // The backup companion, backup/action.yml (runs.main '../dist/backup/index.js').
  bundle('src/backup-index.ts', 'dist/backup/index.js')
]
