from apcu_notifier.handler import lambda_handler as lambda_handler
