/**
 * tsyringe throws at import time unless the Reflect metadata API exists. tsup.config.ts injects
 * this file ahead of every bundle's code; tests get it from vitest's setupFiles.
 */
import "reflect-metadata";
