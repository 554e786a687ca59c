include:
  - .service.clean
  - .registry.clean
  - .config.clean
  - .package.clean
