from apcu_dispatcher.api import lambda_handler as lambda_handler
